"""The worklist projection: one row per imaging ServiceRequest, ready for C-FIND.

Rows are rebuilt from the ServiceRequest (its scheduled-procedure-step extension,
identifiers, occurrence) and its Patient whenever either changes, in the same transaction
(DESIGN.md: projections). The DICOM face answers Modality Worklist queries with SQL on
this table, never by looping over resources.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, delete, insert, select, update

from pacsbridge.errors import UnknownKey
from pacsbridge.formats.fhir.imaging_order import (
    SPS_EXTENSION,
    identifier_of_type,
    person_name_pn,
    read_step,
    requested_procedure_id,
    study_instance_uid,
)
from pacsbridge.store.driver import DriverStatement
from pacsbridge.store.resources import select_current, utc_now
from pacsbridge.store.search.values import normalize_string
from pacsbridge.store.tables import worklist_item

if TYPE_CHECKING:
    from pacsbridge.store.hooks import Change
    from pacsbridge.store.transaction import Transaction

PRIORITY = {"stat": "STAT", "asap": "HIGH", "urgent": "HIGH", "routine": "ROUTINE"}
SCHEMES = {
    "http://loinc.org": "LN",
    "http://snomed.info/sct": "SCT",
    "http://dicom.nema.org/resources/ontology/DCM": "DCM",
    "http://www.radlex.org": "RADLEX",
}
CANCELLED = {"revoked", "entered-in-error"}
_UPDATE_ROW = DriverStatement(
    update(worklist_item).where(worklist_item.c.service_request_id == bindparam("b_order"))
)
_INSERT_ROW = DriverStatement(insert(worklist_item))


def project_worklist(transaction: Transaction, change: Change) -> None:
    connection = transaction.connection
    if change.resource_type == "ServiceRequest":
        _project_order(transaction, change.id, change.resource, new=change.action == "create")
    elif change.resource_type == "Patient" and change.action != "create":
        rows = connection.execute(
            select(worklist_item.c.service_request_id).where(
                worklist_item.c.patient_ref == f"Patient/{change.id}"
            )
        ).scalars()
        for order_id in list(rows):
            order = select_current(connection, "ServiceRequest", order_id)
            if order is not None and not order.deleted:
                _project_order(transaction, order_id, order.resource, new=False)


def _project_order(
    transaction: Transaction, order_id: str, order: dict[str, Any] | None, *, new: bool
) -> None:
    connection = transaction.connection
    is_imaging = order is not None and any(
        e.get("url") == SPS_EXTENSION for e in order.get("extension", [])
    )
    if order is None or not is_imaging:
        connection.execute(
            delete(worklist_item).where(worklist_item.c.service_request_id == order_id)
        )
        return
    row = _fitted(worklist_row(transaction, order_id, order))
    if new or _UPDATE_ROW.execute(connection, {**row, "b_order": order_id}).rowcount == 0:
        _INSERT_ROW.execute(connection, {**row, "service_request_id": order_id})


def _fitted(row: dict[str, Any]) -> dict[str, Any]:
    """Values cut to their column: an overlong HL7 value must not fail the whole message."""
    fitted = {}
    for key, value in row.items():
        length = getattr(worklist_item.c[key].type, "length", None)
        fitted[key] = value[:length] if isinstance(value, str) and length else value
    return fitted


def worklist_row(transaction: Transaction, order_id: str, order: dict[str, Any]) -> dict[str, Any]:
    step = read_step(order)
    patient_ref = order.get("subject", {}).get("reference")
    patient = _patient(transaction, patient_ref)
    patient_id, issuer = _patient_identifier(patient)
    name = person_name_pn((patient.get("name") or [None])[0]) if patient else None
    start_date, start_time = _dicom_date_time(order.get("occurrenceDateTime"))
    coding = ((order.get("code") or {}).get("coding") or [{}])[0]
    accession = identifier_of_type(order, "ACSN")
    placer = identifier_of_type(order, "PLAC")
    filler = identifier_of_type(order, "FILL")
    status = step.status
    if order.get("status") in CANCELLED and status != "DISCONTINUED":
        status = "CANCELED"  # a cancelled order; a discontinued step stays DISCONTINUED
    elif order.get("status") == "completed" and status not in ("COMPLETED", "DISCONTINUED"):
        status = "COMPLETED"
    return {
        "patient_ref": patient_ref,
        "patient_id": patient_id,
        "issuer_of_patient_id": issuer,
        "patient_name": name,
        "patient_name_norm": normalize_string(name).upper() if name else None,
        "birth_date": (patient or {}).get("birthDate", "").replace("-", "")[:8] or None,
        "sex": {"male": "M", "female": "F", "other": "O"}.get((patient or {}).get("gender", "")),
        "accession": (accession or {}).get("value"),
        "requested_procedure_id": requested_procedure_id(order),
        "study_instance_uid": study_instance_uid(order),
        "sps_id": step.sps_id,
        "modality": step.modality,
        "sps_start_date": start_date,
        "sps_start_time": start_time,
        "station_ae": step.station_ae,
        "station_name": step.station_name,
        "sps_location": step.location,
        "performing_physician": step.performing_physician,
        "referring_physician": step.referring_physician,
        "requesting_physician": (order.get("requester") or {}).get("display"),
        "procedure_code": coding.get("code"),
        "procedure_scheme": _scheme(coding.get("system")),
        "procedure_meaning": coding.get("display") or (order.get("code") or {}).get("text"),
        "sps_description": step.description,
        "priority": PRIORITY.get(order.get("priority", "")),
        "placer_order": (placer or {}).get("value"),
        "filler_order": (filler or {}).get("value"),
        "status": status,
        "updated_at": utc_now(),
    }


def _patient(transaction: Transaction, reference: str | None) -> dict[str, Any] | None:
    if not reference or not reference.startswith("Patient/"):
        return None
    try:
        return transaction.read("Patient", reference.split("/", 1)[1]).resource
    except UnknownKey:  # Gone too: an order may point at a patient not (or no longer) here
        return None


def _patient_identifier(patient: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """The first identifier (the one the order's sender uses) and its issuer."""
    if not patient or not patient.get("identifier"):
        return None, None
    identifier = patient["identifier"][0]
    issuer = (identifier.get("assigner") or {}).get("display")
    system = identifier.get("system", "")
    if not issuer and system:
        issuer = system.removeprefix("urn:oid:").removeprefix("urn:pacsbridge:id:")
    return identifier.get("value"), issuer


def _dicom_date_time(moment: str | None) -> tuple[str | None, str | None]:
    """FHIR dateTime → DICOM DA and TM, in the local time it was written in."""
    if not moment:
        return None, None
    date, _, rest = moment.partition("T")
    time = rest[:8].replace(":", "") if rest else None
    return date.replace("-", "")[:8], time or None


def _scheme(system: str | None) -> str | None:
    if not system:
        return None
    return SCHEMES.get(system, system.removeprefix("urn:pacsbridge:code:"))
