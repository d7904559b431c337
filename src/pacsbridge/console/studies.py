"""A stored study as the console shows it: its series and instances from the DICOM index.

Read from the index rows (``dicom_study``, ``dicom_series``, ``dicom_instance``) rather
than from the ImagingStudy, which is rebuilt a little after the sender is done: a study
still arriving is shown as it is. The ImagingStudy gives what FHIR adds (subject, order).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydicom.uid import UID
from sqlalchemy import select
from sqlalchemy.engine import Connection

from pacsbridge.store.tables import dicom_instance, dicom_series, dicom_study

INSTANCES_SHOWN = 48  # thumbnails per series; the viewer shows them all


@dataclass(frozen=True)
class Study:
    study_uid: str
    imaging_study_id: str | None
    patient_id: str | None
    patient_name: str | None
    study_date: str | None
    accession: str | None
    modalities: str | None
    updated_at: datetime

    @property
    def modality_text(self) -> str:
        """``CT\\PR`` (DICOM multi-value) as ``CT, PR``."""
        return ", ".join(m for m in (self.modalities or "").split("\\") if m)


@dataclass(frozen=True)
class Instance:
    sop_instance_uid: str
    sop_class_uid: str
    instance_number: int | None

    @property
    def kind(self) -> str:
        """The SOP class by name (``CT Image Storage``), else its UID."""
        name = UID(self.sop_class_uid).name
        return name.removesuffix(" Storage") if name != self.sop_class_uid else name

    @property
    def has_image(self) -> bool:
        """Whether a thumbnail can be drawn: image storage classes, not SR or documents."""
        return "Image" in UID(self.sop_class_uid).name


@dataclass
class Series:
    series_uid: str
    modality: str | None
    series_number: int | None
    description: str | None
    instances: list[Instance] = field(default_factory=list)
    total: int = 0

    @property
    def thumbnail_instance(self) -> Instance | None:
        """The middle image of the series: more telling than the first slice."""
        images = [i for i in self.instances if i.has_image]
        return images[len(images) // 2] if images else None


def find_study(connection: Connection, study_uid: str) -> Study | None:
    s = dicom_study.c
    row = connection.execute(
        select(s.study_uid, s.imaging_study_id, s.patient_id, s.patient_name, s.study_date,
               s.accession, s.modalities, s.updated_at).where(s.study_uid == study_uid)
    ).first()  # fmt: skip
    return Study(*row) if row else None


def series_of(connection: Connection, study_uid: str) -> list[Series]:
    """The study's series by number, each with its first instances by number."""
    r = dicom_series.c
    found = [
        Series(row.series_uid, row.modality, row.series_number, row.description)
        for row in connection.execute(
            select(r.series_uid, r.modality, r.series_number, r.description)
            .where(r.study_uid == study_uid)
            .order_by(r.series_number, r.series_uid)
        )  # fmt: skip
    ]
    by_uid = {s.series_uid: s for s in found}
    i = dicom_instance.c
    rows = connection.execute(
        select(i.series_uid, i.sop_instance_uid, i.sop_class_uid, i.instance_number)
        .where(i.study_uid == study_uid)
        .order_by(i.series_uid, i.instance_number, i.sop_instance_uid)
    )  # fmt: skip
    for row in rows:
        series = by_uid.get(row.series_uid)
        if series is None:
            continue
        series.total += 1
        if len(series.instances) < INSTANCES_SHOWN:
            series.instances.append(
                Instance(row.sop_instance_uid, row.sop_class_uid, row.instance_number)
            )
    return found
