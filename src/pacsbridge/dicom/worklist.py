"""Modality Worklist C-FIND SCP (PS3.4 Annex K), answered by SQL on the worklist projection.

The query's keys become conditions on ``worklist_item`` columns (``matching.py``); each
matching row is answered with exactly the keys the query asked for, Type 1 and 2 keys
present (empty when unknown), in UTF-8 (ISO_IR 192) so accented names reach the modality
intact. Completed, discontinued and cancelled steps are hidden unless the query asks for
a step status. A C-CANCEL stops the answers between two rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset
from sqlalchemy import select

from pacsbridge.dicom.matching import match_range, match_text, match_uids
from pacsbridge.errors import BadValue
from pacsbridge.store import Store
from pacsbridge.store.tables import worklist_item

log = logging.getLogger("pacsbridge.dicom")

MAX_ANSWERS = 5000
HIDDEN = ("COMPLETED", "DISCONTINUED", "CANCELED")

c = worklist_item.c
# keyword -> (column, kind): kind says how it matches and how it is answered
TOP_LEVEL: dict[str, tuple[Any, str]] = {
    "PatientName": (c.patient_name_norm, "pn"),
    "PatientID": (c.patient_id, "text"),
    "IssuerOfPatientID": (c.issuer_of_patient_id, "text"),
    "PatientBirthDate": (c.birth_date, "date"),
    "PatientSex": (c.sex, "text"),
    "AccessionNumber": (c.accession, "text"),
    "RequestedProcedureID": (c.requested_procedure_id, "text"),
    "StudyInstanceUID": (c.study_instance_uid, "uid"),
    "ReferringPhysicianName": (c.referring_physician, "text"),
    "RequestedProcedureDescription": (c.procedure_meaning, "text"),
    "RequestedProcedurePriority": (c.priority, "text"),
    "RequestingPhysician": (c.requesting_physician, "text"),
}
STEP: dict[str, tuple[Any, str]] = {
    "Modality": (c.modality, "text"),
    "ScheduledStationAETitle": (c.station_ae, "text"),
    "ScheduledProcedureStepStartDate": (c.sps_start_date, "date"),
    "ScheduledProcedureStepStartTime": (c.sps_start_time, "time"),
    "ScheduledPerformingPhysicianName": (c.performing_physician, "text"),
    "ScheduledProcedureStepDescription": (c.sps_description, "text"),
    "ScheduledProcedureStepID": (c.sps_id, "text"),
    "ScheduledStationName": (c.station_name, "text"),
    "ScheduledProcedureStepLocation": (c.sps_location, "text"),
    "ScheduledProcedureStepStatus": (c.status, "text"),
}
ANSWER_COLUMN = {"PatientName": c.patient_name}  # answered unnormalised


@dataclass(frozen=True)
class WorklistOptions:
    """Per-calling-AE behaviour; the defaults are the standard's."""

    station_from_calling_ae: bool = False  # modalities that send no Scheduled Station AE
    fill_empty_keys: bool = False  # strict modalities that refuse empty Type 1 values


def find(
    store: Store, query: Dataset, calling_ae: str, options: WorklistOptions
) -> Iterator[Dataset]:
    """The answers to one worklist query, in scheduled order."""
    conditions = []
    for keyword, (column, kind) in TOP_LEVEL.items():
        if keyword in query:
            condition = _condition(column, kind, _text(query, keyword), keyword)
            if condition is not None:
                conditions.append(condition)
    step_query = _step_query(query)
    status_asked = False
    for keyword, (column, kind) in STEP.items():
        if step_query is not None and keyword in step_query:
            value = _text(step_query, keyword)
            condition = _condition(column, kind, value, keyword)
            if condition is not None:
                conditions.append(condition)
                status_asked = status_asked or keyword == "ScheduledProcedureStepStatus"
    if options.station_from_calling_ae and not _asks(step_query, "ScheduledStationAETitle"):
        conditions.append(c.station_ae == calling_ae)
    if not status_asked:
        conditions.append(c.status.not_in(HIDDEN))
    statement = (
        select(worklist_item).where(*conditions)
        .order_by(c.sps_start_date, c.sps_start_time, c.pk).limit(MAX_ANSWERS)
    )  # fmt: skip
    with store.reader() as reader:
        rows = reader.connection.execute(statement).all()
    for row in rows:
        yield _answer(query, step_query, row, options)


def _text(dataset: Dataset, keyword: str) -> str:
    value = dataset.get(keyword)
    if value is None:
        return ""
    if isinstance(value, list | tuple) or type(value).__name__ == "MultiValue":
        return "\\".join(str(v) for v in value)
    return str(value)


def _condition(column: Any, kind: str, value: str, keyword: str) -> Any:
    if kind == "pn":
        return match_text(column, value.rstrip("^"), person_name=True)
    if kind == "uid":
        return match_uids(column, value)
    if kind in ("date", "time"):
        return match_range(column, value, "Time" if kind == "time" else "Date")
    return match_text(column, value)


def _step_query(query: Dataset) -> Dataset | None:
    sequence = query.get("ScheduledProcedureStepSequence")
    if sequence is None:
        return None
    if len(sequence) > 1:
        raise BadValue("the Scheduled Procedure Step Sequence may hold one item in a query",
                       "ScheduledProcedureStepSequence")  # fmt: skip
    return sequence[0] if len(sequence) else Dataset()


def _asks(step_query: Dataset | None, keyword: str) -> bool:
    return step_query is not None and bool(_text(step_query, keyword).strip())


def _answer(query: Dataset, step_query: Dataset | None, row: Any, options: WorklistOptions
            ) -> Dataset:  # fmt: skip
    answer = Dataset()
    answer.SpecificCharacterSet = "ISO_IR 192"
    for element in query:
        keyword = element.keyword
        if keyword in ("SpecificCharacterSet", "ScheduledProcedureStepSequence") or not keyword:
            continue
        if element.VR == "SQ":
            setattr(answer, keyword, [])  # asked, and we hold nothing for it
        else:
            setattr(answer, keyword, _value(keyword, row, TOP_LEVEL, options))
    if step_query is not None:
        item = Dataset()
        for element in step_query:
            keyword = element.keyword
            if not keyword:
                continue
            if keyword == "ScheduledProtocolCodeSequence":
                item.ScheduledProtocolCodeSequence = _protocol(row)
            elif element.VR == "SQ":
                setattr(item, keyword, [])
            else:
                setattr(item, keyword, _value(keyword, row, STEP, options))
        answer.ScheduledProcedureStepSequence = [item]
    return answer


def _value(keyword: str, row: Any, table: dict[str, tuple[Any, str]], options: WorklistOptions
           ) -> Any:  # fmt: skip
    column = ANSWER_COLUMN.get(keyword)
    if column is None and keyword in table:
        column = table[keyword][0]
    value = row._mapping.get(column.name) if column is not None else None
    if value is None and options.fill_empty_keys:
        return _DEFAULTS.get(keyword, "")
    return value if value is not None else ""


_DEFAULTS = {
    "Modality": "OT",
    "ScheduledStationAETitle": "ANY",
    "ScheduledProcedureStepID": "1",
    "ScheduledProcedureStepStartDate": "19000101",
    "RequestedProcedureID": "1",
}


def _protocol(row: Any) -> list[Dataset]:
    if not row.procedure_code:
        return []
    item = Dataset()
    item.CodeValue = row.procedure_code
    item.CodingSchemeDesignator = row.procedure_scheme or "L"
    item.CodeMeaning = row.procedure_meaning or ""
    return [item]
