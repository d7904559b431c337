"""PostgreSQL: a new instance's index rows in one statement, one round trip.

The general path (``instances.py``) takes four round trips on PostgreSQL: BEGIN, the
lookup, the writes, COMMIT. C-STORE answers one instance at a time, so those waits add
up to a third of its time on a small object. For the common case (an instance written
under a name no file had, duplicates kept as first received) a single statement does the
same on its own transaction: the instance row if it is new, and only then its series row
and its study's, a known study marked stale with its modalities merged as
``instances.py`` merges them. Foreign keys are checked at the statement's end, after all
three rows are in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError

from pacsbridge.store.database import Database
from pacsbridge.store.driver import execute_sql

# Modalities stay a sorted, backslash-separated set (byte order, as Python's sorted()).
_MERGED_MODALITIES = r"""CASE
        WHEN excluded.modalities IS NULL THEN study.modalities
        WHEN study.modalities IS NULL THEN excluded.modalities
        WHEN excluded.modalities = ANY (string_to_array(study.modalities, '\'))
            THEN study.modalities
        ELSE array_to_string(ARRAY(
            SELECT DISTINCT m COLLATE "C" FROM unnest(
                string_to_array(study.modalities || '\' || excluded.modalities, '\')) AS m
            WHERE m <> '' ORDER BY 1), '\')
    END"""

INDEX_NEW_INSTANCE = f"""
WITH instance AS (
    INSERT INTO dicom_instance (sop_instance_uid, series_uid, study_uid, sop_class_uid,
        transfer_syntax_uid, instance_number, path, size, metadata, received_at)
    VALUES (%(sop_instance_uid)s, %(series_uid)s, %(study_uid)s, %(sop_class_uid)s,
        %(transfer_syntax_uid)s, %(instance_number)s::integer, %(path)s,
        %(size)s::bigint, %(metadata)s, %(received_at)s::timestamp)
    ON CONFLICT (sop_instance_uid) DO NOTHING
    RETURNING 1
), series AS (
    INSERT INTO dicom_series (series_uid, study_uid, modality, series_number, description)
    SELECT %(series_uid)s, %(study_uid)s, %(modality)s::varchar,
        %(series_number)s::integer, %(description)s::varchar
    WHERE EXISTS (SELECT FROM instance)
    ON CONFLICT (series_uid) DO NOTHING
), study AS (
    INSERT INTO dicom_study AS study (study_uid, patient_id, patient_name, study_date,
        accession, modalities, fhir_stale, updated_at)
    SELECT %(study_uid)s, %(patient_id)s::varchar, %(patient_name)s::varchar,
        %(study_date)s::varchar, %(accession)s::varchar, %(modality)s::varchar, true,
        %(received_at)s::timestamp
    WHERE EXISTS (SELECT FROM instance)
    ON CONFLICT (study_uid) DO UPDATE SET modalities = {_MERGED_MODALITIES},
        fhir_stale = true, updated_at = excluded.updated_at
)
SELECT count(*) FROM instance
"""


def index_new_instance(database: Database, row: dict[str, Any]) -> bool:
    """The rows of ``row`` (the instance's columns, and its series' and study's), written
    on their own transaction; False if the instance was indexed already."""
    with database.writer.connect() as connection:
        driver = connection.connection.driver_connection
        driver.autocommit = True  # the statement is its own transaction
        try:  # errors raised as SQLAlchemy raises them: deadlocks are retried
            (count,) = execute_sql(connection, INDEX_NEW_INSTANCE, row).fetchone()
        except DBAPIError:
            if driver.broken:  # the server went away: not back into the pool
                connection.invalidate()
            raise
        finally:
            if not driver.broken:
                driver.autocommit = False
    return bool(count)
