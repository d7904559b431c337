"""Which stored DICOM studies belong to which patient, read from the FHIR search index.

A study belongs to the patient its ImagingStudy's ``subject`` names (``store/imaging_study.py``
matches it by Patient ID and issuer). The link is the ImagingStudy ``patient`` reference in
``idx_reference``, the same row a FHIR search ``ImagingStudy?patient=`` reads, so DICOMweb and
FHIR never disagree about whose images these are. A study whose ImagingStudy is not built yet
(``imaging_study_id`` still empty) belongs to nobody: a patient sees it once it is built.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from pacsbridge.store.tables import dicom_study, idx_reference, resource


def imaging_studies_of(patient: str) -> Select[tuple[str]]:
    """The ids of the ImagingStudy resources whose ``patient`` is ``Patient/<patient>``.

    One range of the index ``(res_type, param, target_type, target_id)``, then the
    resource rows by primary key.
    """
    return (
        select(resource.c.res_id)
        .join(idx_reference, idx_reference.c.resource_pk == resource.c.pk)
        .where(
            idx_reference.c.res_type == "ImagingStudy",
            idx_reference.c.param == "patient",
            idx_reference.c.target_type == "Patient",
            idx_reference.c.target_id == patient,
            resource.c.res_type == "ImagingStudy",
        )
    )


def visible_to(patient: str) -> ColumnElement[bool]:
    """A condition on ``dicom_study``: the study is one of ``patient``'s."""
    return dicom_study.c.imaging_study_id.in_(imaging_studies_of(patient))


def patients_of(connection: Connection, study_uids: Collection[str]) -> dict[str, set[str]]:
    """The Patient ids of each study (a study not built or not known maps to nothing)."""
    if not study_uids:
        return {}
    rows = connection.execute(
        select(dicom_study.c.study_uid, idx_reference.c.target_id)
        .join(resource, (resource.c.res_type == "ImagingStudy")
              & (resource.c.res_id == dicom_study.c.imaging_study_id))
        .join(idx_reference, idx_reference.c.resource_pk == resource.c.pk)
        .where(
            dicom_study.c.study_uid.in_(list(study_uids)),
            idx_reference.c.res_type == "ImagingStudy",
            idx_reference.c.param == "patient",
            idx_reference.c.target_type == "Patient",
            idx_reference.c.target_id.is_not(None),
        )
    )  # fmt: skip
    found: dict[str, set[str]] = {}
    for study_uid, patient in rows:
        found.setdefault(study_uid, set()).add(patient)
    return found
