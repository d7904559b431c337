"""The SQL tables of the store; Alembic migrations in ``migrations/`` create and evolve them.

``resource`` holds the current version of each resource (its JSON exactly as served, so a
read is one row and no re-serialisation); ``resource_version`` holds every version for
history and vread. The ``idx_*`` tables are the search index, one per search parameter
type, rebuilt from the current version on every write.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    FetchedValue,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
)

metadata = MetaData()

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64 bits.
Pk = BigInteger().with_variant(Integer(), "sqlite")


# Byte-wise ordering on PostgreSQL too, so that prefix ranges and keyset paging agree
# with SQLite whatever the database's locale.
def _ordered_string(length: int) -> String:
    return String(length).with_variant(String(length, collation="C"), "postgresql")


INDEXED_STRING_LENGTH = 200
"""Longer values are cut for the index; prefix and exact search still work on the cut."""

resource = Table(
    "resource",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("res_type", String(64), nullable=False),
    Column("res_id", _ordered_string(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("content", Text, nullable=True),
    UniqueConstraint("res_type", "res_id", name="uq_resource_type_id"),
    Index("ix_resource_type_updated", "res_type", "last_updated"),
)

resource_version = Table(
    "resource_version",
    metadata,
    # The database numbers it (SERIAL, INTEGER PRIMARY KEY) and nobody asks the number:
    # as SQLAlchemy's autoincrement column it would first run "SELECT nextval" on PostgreSQL
    Column("pk", Pk, primary_key=True, autoincrement=False, server_default=FetchedValue()),
    Column("resource_pk", Pk, ForeignKey("resource.pk"), nullable=False),
    Column("res_type", String(64), nullable=False),
    Column("res_id", String(64), nullable=False),
    Column("version_id", Integer, nullable=False),
    Column("last_updated", DateTime, nullable=False),
    Column("method", String(8), nullable=False),
    Column("content", Text, nullable=True),
    UniqueConstraint("resource_pk", "version_id", name="uq_version_resource_version"),
    Index("ix_version_type_updated", "res_type", "last_updated"),
    Index("ix_version_updated", "last_updated"),
    # nobody reads a version's pk back: no RETURNING, no nextval, so its INSERT rides a
    # pipeline
    implicit_returning=False,
)


def _index_table(name: str, *columns: Column, keys: list[list[str]]) -> Table:
    table = Table(
        name,
        metadata,
        Column("resource_pk", Pk, ForeignKey("resource.pk"), nullable=False),
        Column("res_type", String(64), nullable=False),
        Column("param", String(64), nullable=False),
        *columns,
    )
    Index(f"ix_{name}_resource", table.c.resource_pk)
    for number, key in enumerate(keys):
        Index(f"ix_{name}_{number}", table.c.res_type, table.c.param, *(table.c[k] for k in key))
    return table


idx_string = _index_table(
    "idx_string",
    Column("value_norm", _ordered_string(INDEXED_STRING_LENGTH), nullable=False),
    Column("value_exact", Text, nullable=False),
    keys=[["value_norm"]],
)

idx_token = _index_table(
    "idx_token",
    Column("system", String(256), nullable=True),
    Column("code", _ordered_string(INDEXED_STRING_LENGTH), nullable=False),
    keys=[["code", "system"]],
)

idx_reference = _index_table(
    "idx_reference",
    Column("target_type", String(64), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("url", String(512), nullable=True),
    keys=[["target_type", "target_id"], ["url"]],
)
Index("ix_idx_reference_target", idx_reference.c.target_type, idx_reference.c.target_id)

idx_date = _index_table(
    "idx_date",
    Column("low", DateTime, nullable=False),
    Column("high", DateTime, nullable=False),
    Column("long_range", Boolean, nullable=False, server_default=false()),  # search/dates.py
    keys=[["low"], ["high"], ["long_range", "low"]],
)

idx_uri = _index_table(
    "idx_uri",
    Column("uri", String(512), nullable=False),
    keys=[["uri"]],
)

idx_number = _index_table(
    "idx_number",
    Column("value", Numeric(30, 10), nullable=False),
    keys=[["value"]],
)

idx_quantity = _index_table(
    "idx_quantity",
    Column("value", Numeric(30, 10), nullable=False),
    Column("system", String(256), nullable=True),
    Column("code", String(64), nullable=True),
    Column("unit", String(64), nullable=True),
    keys=[["value"], ["code", "value"]],
)

INDEX_TABLES: dict[str, Table] = {
    "string": idx_string,
    "token": idx_token,
    "reference": idx_reference,
    "date": idx_date,
    "uri": idx_uri,
    "number": idx_number,
    "quantity": idx_quantity,
}
"""The index table of each search parameter type."""


hl7_message = Table(
    "hl7_message",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("received_at", DateTime, nullable=False),
    Column("direction", String(3), nullable=False),  # in | out
    Column("peer", String(128), nullable=True),
    Column("sending_application", String(180), nullable=True),
    Column("sending_facility", String(180), nullable=True),
    Column("receiving_application", String(180), nullable=True),
    Column("receiving_facility", String(180), nullable=True),
    Column("message_type", String(32), nullable=True),
    Column("control_id", String(199), nullable=True),
    Column("patient_id", String(128), nullable=True),
    Column("accession", String(128), nullable=True),
    Column("charset", String(32), nullable=True),
    Column("outcome", String(2), nullable=False),  # AA AE AR CA CE CR
    Column("error", Text, nullable=True),
    Column("resources", Text, nullable=True),  # JSON list of "Type/id/_history/v"
    Column("raw", LargeBinary, nullable=False),
    Column("ack", LargeBinary, nullable=True),
    # Set once a message is applied or refused for its content: a resend is answered
    # with the stored ACK. Unset after an AR, so that a resend is tried again.
    Column("dedup_key", String(600), nullable=True),
    UniqueConstraint("dedup_key", name="uq_hl7_message_dedup"),
    Index("ix_hl7_message_received", "received_at"),
    Index("ix_hl7_message_control", "control_id"),
    Index("ix_hl7_message_patient", "patient_id"),
    Index("ix_hl7_message_accession", "accession"),
    Index("ix_hl7_message_type", "message_type", "received_at"),
)

worklist_item = Table(
    "worklist_item",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("service_request_id", String(64), nullable=False),
    Column("patient_ref", String(140), nullable=True),  # "Patient/<id>"
    Column("patient_id", String(64), nullable=True),
    Column("issuer_of_patient_id", String(64), nullable=True),
    Column("patient_name", String(324), nullable=True),  # DICOM PN: Family^Given^Middle
    Column("patient_name_norm", _ordered_string(324), nullable=True),  # upper, no accents
    Column("birth_date", String(64), nullable=True),  # YYYYMMDD
    Column("sex", String(64), nullable=True),
    Column("accession", String(64), nullable=True),
    Column("requested_procedure_id", String(64), nullable=True),
    Column("study_instance_uid", String(64), nullable=True),
    Column("sps_id", String(64), nullable=True),
    Column("modality", String(64), nullable=True),
    Column("sps_start_date", String(64), nullable=True),  # YYYYMMDD
    Column("sps_start_time", String(64), nullable=True),  # HHMMSS
    Column("station_ae", String(64), nullable=True),
    Column("station_name", String(64), nullable=True),
    Column("sps_location", String(64), nullable=True),
    Column("performing_physician", String(324), nullable=True),
    Column("referring_physician", String(324), nullable=True),
    Column("requesting_physician", String(324), nullable=True),
    Column("procedure_code", String(64), nullable=True),
    Column("procedure_scheme", String(64), nullable=True),
    Column("procedure_meaning", String(64), nullable=True),
    Column("sps_description", String(64), nullable=True),
    Column("priority", String(64), nullable=True),
    Column("placer_order", String(64), nullable=True),
    Column("filler_order", String(64), nullable=True),
    Column("status", String(64), nullable=False),  # SCHEDULED STARTED COMPLETED DISCONTINUED
    Column("updated_at", DateTime, nullable=False),
    UniqueConstraint("service_request_id", name="uq_worklist_service_request"),
    Index("ix_worklist_start", "sps_start_date", "modality"),
    Index("ix_worklist_accession", "accession"),
    Index("ix_worklist_patient", "patient_id"),
    Index("ix_worklist_patient_ref", "patient_ref"),
    Index("ix_worklist_station", "station_ae"),
    Index("ix_worklist_name", "patient_name_norm"),
)

# The DICOM index: one row per study, series and instance received; the DICOM JSON of
# each instance (without bulk data) is computed once at receipt for QIDO/WADO metadata.
dicom_study = Table(
    "dicom_study",
    metadata,
    Column("study_uid", String(64), primary_key=True),
    # The ImagingStudy resource; collated as resource.res_id, so that a join uses the index.
    Column("imaging_study_id", _ordered_string(64), nullable=True),
    Column("patient_id", String(64), nullable=True),
    Column("patient_name", String(324), nullable=True),
    Column("study_date", String(8), nullable=True),
    Column("accession", String(64), nullable=True),
    Column("modalities", String(128), nullable=True),  # backslash-separated
    Column("updated_at", DateTime, nullable=False),
    # Instances arrived since the ImagingStudy was last built (store/imaging_study.py).
    Column("fhir_stale", Boolean, nullable=False, server_default=false()),
    Index("ix_dicom_study_patient", "patient_id"),
    Index("ix_dicom_study_accession", "accession"),
    Index("ix_dicom_study_date", "study_date"),
    Index("ix_dicom_study_stale", "fhir_stale", "updated_at"),
    Index("ix_dicom_study_imaging_study", "imaging_study_id"),  # a patient's studies
)

dicom_series = Table(
    "dicom_series",
    metadata,
    Column("series_uid", String(64), primary_key=True),
    Column("study_uid", String(64), ForeignKey("dicom_study.study_uid"), nullable=False),
    Column("modality", String(16), nullable=True),
    Column("series_number", Integer, nullable=True),
    Column("description", String(64), nullable=True),
    Index("ix_dicom_series_study", "study_uid"),
)

dicom_instance = Table(
    "dicom_instance",
    metadata,
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("series_uid", String(64), ForeignKey("dicom_series.series_uid"), nullable=False),
    Column("study_uid", String(64), nullable=False),
    Column("sop_class_uid", String(64), nullable=False),
    Column("transfer_syntax_uid", String(64), nullable=False),
    Column("instance_number", Integer, nullable=True),
    Column("path", String(512), nullable=False),  # relative to the data dir
    Column("size", BigInteger, nullable=False),
    Column("metadata", Text, nullable=False),  # DICOM JSON without bulk data
    Column("received_at", DateTime, nullable=False),
    Index("ix_dicom_instance_series", "series_uid"),
    Index("ix_dicom_instance_study", "study_uid"),
)

# The outbox (DESIGN.md, transactional outbox): a message is written by a workflow rule in
# the transaction of the change that causes it, and leaves when a sender claims it. The
# pk orders messages; one per (destination, partition) is in flight at a time.
outbox_message = Table(
    "outbox_message",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("destination", String(64), nullable=False),
    Column("partition_key", String(128), nullable=False),  # the patient, usually
    Column("event", String(32), nullable=False),
    Column("message_type", String(32), nullable=False),
    Column("control_id", String(64), nullable=False),  # MSH-10, kept across resends
    Column("source", String(160), nullable=True),  # Type/id/_history/v that caused it
    Column("payload", LargeBinary, nullable=False),  # encoded in the destination's charset
    Column("status", String(10), nullable=False),  # pending sending sent dead cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("created_at", DateTime, nullable=False),
    Column("next_attempt_at", DateTime, nullable=False),
    Column("lease_until", DateTime, nullable=True),  # while sending: the claim expires then
    Column("finished_at", DateTime, nullable=True),
    Column("ack_code", String(2), nullable=True),
    Column("ack", LargeBinary, nullable=True),
    Column("last_error", Text, nullable=True),
    # The open messages of a destination in pk order: what senders scan for heads.
    Index(
        "ix_outbox_open",
        "destination",
        "pk",
        sqlite_where=text("status IN ('pending', 'sending')"),
        postgresql_where=text("status IN ('pending', 'sending')"),
    ),  # fmt: skip
    Index("ix_outbox_partition", "destination", "partition_key", "pk"),
    Index("ix_outbox_control", "control_id"),
    Index("ix_outbox_created", "created_at"),
)

outbox_attempt = Table(
    "outbox_attempt",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column(
        "message_pk", Pk, ForeignKey("outbox_message.pk", ondelete="CASCADE"), nullable=False
    ),  # fmt: skip
    Column("attempt", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("seconds", Numeric(10, 4), nullable=False),
    Column("outcome", String(10), nullable=False),  # AA AE AR CA CE CR timeout error
    Column("ack", LargeBinary, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_outbox_attempt_message", "message_pk"),
)

outbox_destination = Table(
    "outbox_destination",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("updated_at", DateTime, nullable=False),
)
