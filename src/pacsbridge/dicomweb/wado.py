"""WADO-RS (PS3.18 10.4): the stored files of a study, series or instance, and their metadata.

Instances are sent as stored, in the transfer syntax they were received in; each part's
Content-Type names it. PS3.18 8.7.3.5.2 would have us transcode to Explicit VR Little
Endian unless the client accepts ``transfer-syntax=*``; we never transcode, on purpose
(no pixel decoding in the server), as many archives do for their native syntax.

Metadata is the DICOM JSON stored at receipt (``store/instances.py``), joined as text;
only an instance whose JSON holds bulk data is parsed, to give those values their
BulkDataURI (``bulkdata.py``). It holds no PixelData (read with ``stop_before_pixels``):
pixels are fetched by frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from pacsbridge.dicomweb import bulkdata
from pacsbridge.errors import PacsbridgeError, UnknownKey
from pacsbridge.formats.dicom.json import BASE_PLACEHOLDER
from pacsbridge.store.tables import dicom_instance, dicom_series


@dataclass(frozen=True)
class Target:
    """What a WADO-RS URL names: a study, or a series of it, or an instance of that."""

    study: str
    series: str | None = None
    instance: str | None = None

    def describe(self) -> str:
        if self.instance:
            return f"instance {self.instance} of series {self.series} of study {self.study}"
        if self.series:
            return f"series {self.series} of study {self.study}"
        return f"study {self.study}"


@dataclass(frozen=True)
class StoredFile:
    path: Path
    transfer_syntax_uid: str


def not_found(target: Target) -> UnknownKey:
    """The one 404 of a target: the same for one that does not exist and for one the
    caller may not see (``authorization.py``), so that an answer never tells them apart."""
    return UnknownKey(f"no {target.describe()} is stored here", target.describe())


def _select(target: Target, *columns: Any) -> Select[Any]:
    i = dicom_instance
    statement = select(*columns).where(i.c.study_uid == target.study)
    if target.series is not None:
        statement = statement.where(i.c.series_uid == target.series)
    if target.instance is not None:
        statement = statement.where(i.c.sop_instance_uid == target.instance)
    return statement.order_by(i.c.series_uid, i.c.instance_number, i.c.sop_instance_uid)


def find_files(connection: Connection, data_dir: Path, target: Target) -> list[StoredFile]:
    """The files to send, checked to exist before the first byte of the answer goes out."""
    i = dicom_instance
    rows = connection.execute(_select(target, i.c.path, i.c.transfer_syntax_uid)).all()
    if not rows:
        raise not_found(target)
    files = [StoredFile(data_dir / row.path, row.transfer_syntax_uid) for row in rows]
    missing = [f.path.name for f in files if not f.path.is_file()]
    if missing:
        raise PacsbridgeError(f"{len(missing)} stored file(s) are missing, e.g. {missing[0]}")
    return files


def metadata(connection: Connection, target: Target, base: str) -> bytes:
    """The DICOM JSON array of the instances of ``target`` (PS3.18 10.4.1.1.2); ``base``
    is the service URL the BulkDataURIs start with."""
    i = dicom_instance
    rows = connection.execute(
        _select(target, i.c.metadata, i.c.study_uid, i.c.series_uid, i.c.sop_instance_uid)
    ).all()
    if not rows:
        raise not_found(target)
    texts = [bulkdata.with_uris(row.metadata, f"{base}/studies/{row.study_uid}/series/"
                                f"{row.series_uid}/instances/{row.sop_instance_uid}")
             if bulkdata.EMPTY_URI in row.metadata else row.metadata  # older rows only
             for row in rows]  # fmt: skip
    return ("[" + ",".join(texts) + "]").replace(BASE_PLACEHOLDER, base).encode()


def one_file(connection: Connection, data_dir: Path, target: Target) -> StoredFile:
    """The file of the one instance ``target`` names (frames, rendered, bulk data)."""
    return find_files(connection, data_dir, target)[0]


# Series whose instances rarely hold pixel data: a thumbnail looks elsewhere first.
_NON_IMAGE_MODALITIES = ("SR", "PR", "KO", "DOC", "REG", "RTPLAN", "RTSTRUCT")


def representative(connection: Connection, data_dir: Path, target: Target) -> StoredFile:
    """The instance a study's or series' thumbnail shows: the middle instance (by
    Instance Number) of the first image series (by Series Number)."""
    i, s = dicom_instance, dicom_series
    series = target.series
    if series is None:
        series = connection.execute(
            select(s.c.series_uid).where(s.c.study_uid == target.study)
            .order_by(func.coalesce(s.c.modality, "").in_(_NON_IMAGE_MODALITIES),
                      s.c.series_number.is_(None),
                      s.c.series_number, s.c.series_uid).limit(1)
        ).scalar()  # fmt: skip
        if series is None:
            raise not_found(target)
    rows = connection.execute(
        select(i.c.path, i.c.transfer_syntax_uid)
        .where(i.c.study_uid == target.study, i.c.series_uid == series)
        .order_by(i.c.instance_number.is_(None), i.c.instance_number, i.c.sop_instance_uid)
    ).all()  # fmt: skip
    if not rows:
        raise not_found(target)
    middle = rows[(len(rows) - 1) // 2]
    found = StoredFile(data_dir / middle.path, middle.transfer_syntax_uid)
    if not found.path.is_file():
        raise PacsbridgeError(f"the stored file {found.path.name} is missing")
    return found
