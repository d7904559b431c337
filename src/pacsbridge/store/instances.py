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
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from sqlalchemy import delete, insert, select, update

from pacsbridge.errors import BadValue
from pacsbridge.formats.dicom.json import BASE_PLACEHOLDER, dataset_to_json, fill_bulk_uris
from pacsbridge.store.resources import utc_now
from pacsbridge.store.tables import dicom_instance, dicom_series, dicom_study
from pacsbridge.store.transaction import Store, Transaction

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")  # PS3.5 9.1, at most 64 characters checked below
BULK_THRESHOLD = 1024  # bytes: larger binary values are left out of the stored metadata


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
    head = _file_head(file_meta)
    header = _header(head, dataset)
    sop_uid = str(file_meta.MediaStorageSOPInstanceUID)
    study_uid, series_uid = str(header.StudyInstanceUID), str(header.SeriesInstanceUID)
    for name, uid in (("SOPInstanceUID", sop_uid), ("StudyInstanceUID", study_uid),
                      ("SeriesInstanceUID", series_uid)):  # fmt: skip
        if len(uid) > 64 or not _UID.fullmatch(
            uid
        ):  # UIDs name the file: nothing else may reach the path
            raise BadValue(f"{name} {uid[:80]!r} is not a valid UID", name)
    if expected_study is not None and study_uid != expected_study:
        raise OtherStudy(f"instance {sop_uid} belongs to study {study_uid}")
    with store.reader() as reader:
        known = reader.connection.execute(
            select(dicom_instance.c.study_uid).where(dicom_instance.c.sop_instance_uid == sop_uid)
        ).first()
    if known is not None and not replace:  # keep the first copy (the default policy)
        return StoredInstance(sop_uid, study_uid, duplicate=True)
    relative = Path("dicom") / study_uid / series_uid / f"{sop_uid}.dcm"
    size = _write_file(data_dir / relative, head, dataset)

    def commit_index() -> None:  # run again if PostgreSQL undoes it (a deadlock)
        with store.transaction("dicom") as transaction:
            if known is not None:  # replace: the new copy's file is written, its row follows
                transaction.connection.execute(
                    delete(dicom_instance).where(dicom_instance.c.sop_instance_uid == sop_uid)
                )
            _index(transaction, header, file_meta, relative, size)

    store.database.retrying(commit_index)
    return StoredInstance(sop_uid, study_uid, duplicate=False)


def _file_head(file_meta: FileMetaDataset) -> bytes:
    """Preamble, ``DICM`` and the encoded file meta: what precedes the dataset in the file."""
    buffer = BytesIO()
    buffer.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(buffer, file_meta, enforce_standard=True)
    return buffer.getvalue()


def _header(head: bytes, dataset: bytes) -> Dataset:
    """The dataset without pixel data, read from the bytes as the peer encoded them."""
    return dcmread(BytesIO(head + dataset), stop_before_pixels=True, force=True)


def _write_file(path: Path, head: bytes, dataset: bytes) -> int:
    """Part 10 file: preamble, meta, then the dataset bytes unchanged; fsynced, and its
    directory too, before the index row that names it is committed."""
    new_folders = not path.parent.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    with open(temporary, "wb") as handle:
        handle.write(head)
        handle.write(dataset)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    _fsync_directory(path.parent)  # the new name survives a power loss too
    if new_folders:  # dicom/<study>/<series>: their names too
        _fsync_directory(path.parent.parent)
        _fsync_directory(path.parent.parent.parent)
    return len(head) + len(dataset)


def _fsync_directory(directory: Path) -> None:
    handle = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _index(transaction: Transaction, header: Dataset, file_meta: FileMetaDataset,
           relative: Path, size: int) -> None:  # fmt: skip
    connection = transaction.connection
    study_uid, series_uid = str(header.StudyInstanceUID), str(header.SeriesInstanceUID)
    now = utc_now()
    study_row = {
        "patient_id": str(header.get("PatientID", "")) or None,
        "patient_name": str(header.get("PatientName", "")) or None,
        "study_date": str(header.get("StudyDate", "")) or None,
        "accession": str(header.get("AccessionNumber", "")) or None,
        "updated_at": now,
    }
    exists = connection.execute(
        select(dicom_study.c.modalities).where(dicom_study.c.study_uid == study_uid)
    ).first()
    modality = str(header.get("Modality", "")) or None
    if exists is None:
        connection.execute(insert(dicom_study).values(
            study_uid=study_uid, modalities=modality, fhir_stale=True, **study_row))  # fmt: skip
    else:
        modalities = set(filter(None, (exists.modalities or "").split("\\"))) | {modality or ""}
        connection.execute(update(dicom_study).where(dicom_study.c.study_uid == study_uid).values(
            modalities="\\".join(sorted(m for m in modalities if m)) or None,
            fhir_stale=True, updated_at=now))  # fmt: skip
    if connection.execute(select(dicom_series.c.series_uid).where(
            dicom_series.c.series_uid == series_uid)).first() is None:  # fmt: skip
        connection.execute(insert(dicom_series).values(
            series_uid=series_uid, study_uid=study_uid, modality=modality,
            series_number=_int(header.get("SeriesNumber")),
            description=str(header.get("SeriesDescription", ""))[:64] or None))  # fmt: skip
    metadata = dataset_to_json(header, BULK_THRESHOLD, lambda element: "")
    sop_uid = str(file_meta.MediaStorageSOPInstanceUID)
    fill_bulk_uris(metadata, f"{BASE_PLACEHOLDER}/studies/{study_uid}/series/{series_uid}"
                             f"/instances/{sop_uid}/bulkdata")  # fmt: skip
    connection.execute(insert(dicom_instance).values(
        sop_instance_uid=str(file_meta.MediaStorageSOPInstanceUID), series_uid=series_uid,
        study_uid=study_uid, sop_class_uid=str(file_meta.MediaStorageSOPClassUID),
        transfer_syntax_uid=str(file_meta.TransferSyntaxUID),
        instance_number=_int(header.get("InstanceNumber")), path=str(relative), size=size,
        metadata=orjson.dumps(metadata).decode(), received_at=now))  # fmt: skip


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
