"""The worklist of a day as staff read it: SQL on the worklist projection.

The same rows the Modality Worklist answers C-FIND from (``store/projections/worklist.py``),
so the console shows exactly what the modalities see. Days are the scheduled day as the
order wrote it (local time), which is how the department speaks of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.engine import Connection

from pacsbridge.store.tables import worklist_item

STATUSES = ("SCHEDULED", "ARRIVED", "READY", "STARTED", "COMPLETED", "DISCONTINUED", "CANCELED")
LIMIT = 500


@dataclass(frozen=True)
class Step:
    order_id: str
    patient_ref: str | None
    patient_id: str | None
    patient_name: str | None
    accession: str | None
    modality: str | None
    start: str  # HH:MM
    station_ae: str | None
    station_name: str | None
    procedure: str | None
    priority: str | None
    status: str

    @property
    def patient_display(self) -> str:
        """A DICOM PN (``Family^Given``) as ``Family, Given``."""
        parts = [p for p in (self.patient_name or "").split("^")[:2] if p]
        return ", ".join(parts)


def steps_of_day(connection: Connection, day: date, *, modality: str | None = None,
                 station: str | None = None, status: str | None = None) -> list[Step]:  # fmt: skip
    w = worklist_item.c
    query = (
        select(w.service_request_id, w.patient_ref, w.patient_id, w.patient_name, w.accession,
               w.modality, w.sps_start_time, w.station_ae, w.station_name, w.sps_description,
               w.procedure_meaning, w.priority, w.status)
        .where(w.sps_start_date == day.strftime("%Y%m%d"))
        .order_by(w.sps_start_time, w.pk).limit(LIMIT)
    )  # fmt: skip
    for column, value in ((w.modality, modality), (w.station_ae, station), (w.status, status)):
        if value:
            query = query.where(column == value)
    return [
        Step(r.service_request_id, r.patient_ref, r.patient_id, r.patient_name, r.accession,
             r.modality, _clock(r.sps_start_time), r.station_ae, r.station_name,
             r.sps_description or r.procedure_meaning, r.priority, r.status)
        for r in connection.execute(query)
    ]  # fmt: skip


def _clock(dicom_time: str | None) -> str:
    if not dicom_time or len(dicom_time) < 4:
        return ""
    return f"{dicom_time[:2]}:{dicom_time[2:4]}"


def choices(connection: Connection) -> tuple[list[str], list[str]]:
    """The modalities and station AE titles that occur, for the filters."""
    w = worklist_item.c
    found = []
    for column in (w.modality, w.station_ae):
        query = select(column).distinct().where(column.is_not(None)).order_by(column)
        found.append(list(connection.execute(query).scalars()))
    return found[0], found[1]
