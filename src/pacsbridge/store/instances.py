"""DICOM instances: the file in the data dir and its index rows.

C-STORE and STOW-RS call :func:`store_instance`. The file is written first, as received
(pixel data never decoded), then one transaction writes the study, series and instance
rows with the instance's DICOM JSON (without bulk data) and marks the study's FHIR
ImagingStudy stale; ``imaging_study.py`` brings it up to date once the sender is done
(end of the association, end of the STOW request), so that a 500-image series makes one
ImagingStudy version, not 500. A duplicate instance keeps the first copy: a success.
"""

from __future__ import annotations

import os
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from sqlalchemy import bindparam, delete, insert, select, update

from pacsbridge.errors import BadValue
from pacsbridge.formats.dicom.header import Header, read_header_json
from pacsbridge.formats.dicom.json import BASE_PLACEHOLDER, dataset_to_json, fill_bulk_uris
from pacsbridge.formats.dicom.part10 import file_head
from pacsbridge.store.database import one_round_trip
from pacsbridge.store.driver import DriverStatement
from pacsbridge.store.instance_upsert import index_new_instance
from pacsbridge.store.resources import utc_now
from pacsbridge.store.tables import dicom_instance, dicom_series, dicom_study
from pacsbridge.store.transaction import Store, Transaction

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")  # PS3.5 9.1, at most 64 characters checked below
STUDY_TOUCH = timedelta(seconds=5)  # how stale a receiving study's updated_at may get
_CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL
BULK_THRESHOLD = 1024  # bytes: larger binary values are left out of the stored metadata

# Built once and run on the driver: SQLAlchemy's work per call costs more than the SQL.
# What the index knows of the instance, its study and its series: one query, one round trip.
_LOOKUP = DriverStatement(select(
    select(dicom_instance.c.study_uid).where(dicom_instance.c.sop_instance_uid == bindparam("sop"))
    .scalar_subquery().label("known"),
    *(select(column).where(dicom_study.c.study_uid == bindparam("study")).scalar_subquery()
      .label(column.name) for column in (dicom_study.c.modalities, dicom_study.c.fhir_stale,
                                         dicom_study.c.updated_at)),
    select(dicom_series.c.series_uid).where(dicom_series.c.series_uid == bindparam("series"))
    .scalar_subquery().label("series"),
))  # fmt: skip
_TOUCH_STUDY = DriverStatement(
    update(dicom_study).where(dicom_study.c.study_uid == bindparam("study"))
    .values(modalities=bindparam("modalities"), fhir_stale=True,
            updated_at=bindparam("updated_at"))
)  # fmt: skip
_NEW_STUDY, _NEW_SERIES, _NEW_INSTANCE = (DriverStatement(insert(table)) for table in
                                          (dicom_study, dicom_series, dicom_instance))  # fmt: skip


@dataclass(frozen=True)
class StoredInstance:
    sop_instance_uid: str
    study_uid: str
    duplicate: bool


class OtherStudy(BadValue):
    """The instance belongs to another study than the one it was sent to (STOW-RS)."""


def store_instance(
    store: Store,
    data_dir: Path,
    file_meta: FileMetaDataset,
    dataset: bytes,
    *,
    expected_study: str | None = None,
    replace: bool = False,
) -> StoredInstance:
    """Keep one received instance: file first, then index and ImagingStudy in one commit.

    An instance received again keeps the first copy, or with ``replace`` takes the new one.
    """
    head = file_head(file_meta)
    metadata = read_header_json(dataset, str(file_meta.TransferSyntaxUID), BULK_THRESHOLD)
    if metadata is None:  # what the fast reader declines, pydicom reads
        metadata = dataset_to_json(_header(head, dataset), BULK_THRESHOLD, lambda element: "")
    header = Header(metadata)
    sop_uid = str(file_meta.MediaStorageSOPInstanceUID)
    study_uid, series_uid = header["StudyInstanceUID"], header["SeriesInstanceUID"]
    for name, uid in (("SOPInstanceUID", sop_uid), ("StudyInstanceUID", study_uid),
                      ("SeriesInstanceUID", series_uid)):  # fmt: skip
        if len(uid) > 64 or not _UID.fullmatch(
            uid
        ):  # UIDs name the file: nothing else may reach the path
            raise BadValue(f"{name} {uid[:80]!r} is not a valid UID", name)
    if expected_study is not None and study_uid != expected_study:
        raise OtherStudy(f"instance {sop_uid} belongs to study {study_uid}")
    relative = Path("dicom") / study_uid / series_uid / f"{sop_uid}.dcm"
    final = data_dir / relative
    written, size = _write_file(final, head, dataset)
    fill_bulk_uris(metadata, f"{BASE_PLACEHOLDER}/studies/{study_uid}/series/{series_uid}"
                             f"/instances/{sop_uid}/bulkdata")  # fmt: skip
    instance = {  # its row but for received_at; made before the transaction takes its lock
        "sop_instance_uid": sop_uid, "series_uid": series_uid, "study_uid": study_uid,
        "sop_class_uid": str(file_meta.MediaStorageSOPClassUID),
        "transfer_syntax_uid": str(file_meta.TransferSyntaxUID),
        "instance_number": _int(header.get("InstanceNumber")), "path": str(relative),
        "size": size, "metadata": orjson.dumps(metadata).decode(),
    }  # fmt: skip

    if store.database.is_postgresql and written == final and not replace:
        _put_in_place(written, final)  # its folder fsynced before the row commits
        row = {**instance, **_study_row(header), **_series_row(header), "received_at": utc_now()}
        indexed = store.database.retrying(index_new_instance, store.database, row)
        return StoredInstance(sop_uid, study_uid, duplicate=not indexed)

    def commit_index() -> bool:  # run again if PostgreSQL undoes it (a deadlock)
        with store.transaction("dicom") as transaction:
            current = _LOOKUP.one(
                transaction.connection, {"sop": sop_uid, "study": study_uid, "series": series_uid}
            )
            if current.known is not None and not replace:  # keep the first copy (the default)
                return False
            if current.known is not None:
                transaction.connection.execute(
                    delete(dicom_instance).where(dicom_instance.c.sop_instance_uid == sop_uid)
                )
            _index(transaction, header, current, instance)
            _put_in_place(written, final)  # named before the row commits
        return True

    try:
        indexed = store.database.retrying(commit_index)
    finally:
        if written != final:
            written.unlink(missing_ok=True)  # a duplicate's copy, or a failed commit's
    return StoredInstance(sop_uid, study_uid, duplicate=not indexed)


def _header(head: bytes, dataset: bytes) -> Dataset:
    """The dataset without pixel data, read from the bytes as the peer encoded them."""
    return dcmread(BytesIO(head + dataset), stop_before_pixels=True, force=True)


def _write_file(path: Path, head: bytes, dataset: bytes) -> tuple[Path, int]:
    """The Part 10 file (preamble, meta, then the dataset bytes unchanged), fsynced; and
    where it went. A new instance is written under its final name: no rename, so one
    journal commit less per C-STORE. If that name exists (a duplicate, another sender of
    the same instance, a failed commit's leftover), beside it under a name of its own, so
    that the first copy stays whole until the index says which one to keep."""
    if not path.parent.exists():  # dicom/<study>/<series>: new names survive a power loss
        path.parent.mkdir(parents=True, exist_ok=True)
        _fsync_directory(path.parent.parent)
        _fsync_directory(path.parent.parent.parent)
    try:
        handle = os.open(path, _CREATE_NEW, 0o666)
    except FileExistsError:
        path = path.with_name(f"{path.stem}.{uuid.uuid4().hex}.part")
        handle = os.open(path, _CREATE_NEW, 0o666)
    with open(handle, "wb") as file:
        file.write(head)
        file.write(dataset)
        file.flush()
        os.fsync(file.fileno())
    return path, len(head) + len(dataset)


def _put_in_place(written: Path, path: Path) -> None:
    """The final name, its folder fsynced, before the index row that names it commits.
    Run again after a retried commit, it finds the file already there."""
    if written != path and written.exists():
        os.replace(written, path)
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _index(transaction: Transaction, header: Header, current: Any,
           instance: dict[str, Any]) -> None:  # fmt: skip
    """The study, series and instance rows; ``current``: what ``_LOOKUP`` found."""
    connection = transaction.connection
    study_uid, series_uid = instance["study_uid"], instance["series_uid"]
    now = utc_now()
    modality = header.get("Modality")
    with one_round_trip(connection):  # nothing below reads an answer
        if current.updated_at is None:  # no study row yet
            _NEW_STUDY.execute(connection, dict(study_uid=study_uid, modalities=modality,
                                                fhir_stale=True, updated_at=now,
                                                **_study_row(header)))  # fmt: skip
        else:
            modalities = set(filter(None, (current.modalities or "").split("\\")))
            joined = "\\".join(sorted(m for m in modalities | {modality or ""} if m)) or None
            # SQLite: write transactions run one after another, so a study seen stale
            # stays so, and its row is written only on a change or, for the maintenance
            # loop's sake, every STUDY_TOUCH. PostgreSQL: a rebuild running now may have
            # read the rows before this instance and will mark the study fresh; this
            # UPDATE waits for it and marks the study stale after it: every time.
            changed = joined != current.modalities or not current.fhir_stale
            if (transaction.store.database.is_postgresql or changed
                    or now - current.updated_at > STUDY_TOUCH):  # fmt: skip
                _TOUCH_STUDY.execute(connection, {"study": study_uid, "modalities": joined,
                                                  "updated_at": now})  # fmt: skip
        if current.series is None:
            _NEW_SERIES.execute(connection, dict(series_uid=series_uid, study_uid=study_uid,
                                                 **_series_row(header)))  # fmt: skip
        _NEW_INSTANCE.execute(connection, {**instance, "received_at": now})


def _study_row(header: Header) -> dict[str, Any]:
    """A new study's columns, from its first instance (but its UID and modalities)."""
    return {
        "patient_id": header.get("PatientID"),
        "patient_name": header.get("PatientName"),
        "study_date": header.get("StudyDate"),
        "accession": header.get("AccessionNumber"),
    }


def _series_row(header: Header) -> dict[str, Any]:
    """A new series' columns, from its first instance (but its UIDs)."""
    return {
        "modality": header.get("Modality"),
        "series_number": _int(header.get("SeriesNumber")),
        "description": header["SeriesDescription"][:64] or None,
    }


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
