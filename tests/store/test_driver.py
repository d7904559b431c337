"""Statements run on the driver write and read what SQLAlchemy's execute would."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from pacsbridge.store.driver import DriverStatement
from pacsbridge.store.tables import dicom_study, resource

STUDY = {
    "patient_id": "P1",
    "patient_name": "García^Pedro",
    "study_date": "20250315",
    "accession": "ACC1",
    "modalities": "CT",
    "fhir_stale": False,
    "updated_at": datetime(2025, 3, 15, 12, 5, 7, 123456, tzinfo=UTC).replace(tzinfo=None),
}
LOOKUP = DriverStatement(
    select(dicom_study.c.modalities, dicom_study.c.fhir_stale, dicom_study.c.updated_at)
    .where(dicom_study.c.study_uid == bindparam("study"))
)  # fmt: skip
TOUCH = DriverStatement(
    update(dicom_study).where(dicom_study.c.study_uid == bindparam("study"))
    .values(fhir_stale=True, modalities=bindparam("modalities"))
)  # fmt: skip


def test_rows_written_on_the_driver_read_back_through_sqlalchemy(store, unique):
    rows = [{"study_uid": f"1.2.{i}.{abs(hash(unique)) % 10**9}", **STUDY} for i in range(3)]
    with store.transaction() as transaction:
        DriverStatement(insert(dicom_study)).executemany(transaction.connection, rows[:2])
        DriverStatement(insert(dicom_study)).execute(transaction.connection, rows[2])
    with store.reader() as reader:
        found = reader.connection.execute(
            select(dicom_study).where(dicom_study.c.study_uid.in_([r["study_uid"] for r in rows]))
        ).mappings().all()  # fmt: skip
    by_uid = {f["study_uid"]: {k: f[k] for k in rows[0]} for f in found}
    assert by_uid == {r["study_uid"]: r for r in rows}


def test_a_select_converts_values_as_sqlalchemy_does(store, unique):
    study = f"1.3.{abs(hash(unique)) % 10**9}"
    with store.transaction() as transaction:
        transaction.connection.execute(insert(dicom_study), {"study_uid": study, **STUDY})
        row = LOOKUP.one(transaction.connection, {"study": study})
        assert (row.modalities, row.fhir_stale, row.updated_at) == (
            "CT", False, STUDY["updated_at"]
        )  # fmt: skip
        assert TOUCH.execute(transaction.connection, {"study": study, "modalities": "MR"}).rowcount
        expected = transaction.connection.execute(
            select(dicom_study.c.modalities, dicom_study.c.fhir_stale, dicom_study.c.updated_at)
            .where(dicom_study.c.study_uid == study)
        ).one()  # fmt: skip
        assert tuple(LOOKUP.one(transaction.connection, {"study": study})) == tuple(expected)
        assert tuple(expected)[:2] == ("MR", True)  # the value the UPDATE holds itself


def test_a_driver_error_is_sqlalchemys_exception(store, unique):
    row = {"study_uid": f"1.4.{abs(hash(unique)) % 10**9}", **STUDY}
    with pytest.raises(IntegrityError), store.transaction() as transaction:
        DriverStatement(insert(dicom_study)).execute(transaction.connection, row)
        DriverStatement(insert(dicom_study)).execute(transaction.connection, row)


def test_a_missing_column_with_a_python_default_is_refused(store):
    with pytest.raises(ValueError, match="default"), store.transaction() as transaction:
        DriverStatement(insert(resource)).execute(
            transaction.connection, {"res_type": "Patient", "res_id": "x", "version_id": 1}
        )
