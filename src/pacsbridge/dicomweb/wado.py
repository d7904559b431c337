"""WADO-RS (PS3.18 10.4): the stored files of a study, series or instance, and their metadata.

Instances are sent as stored, in the transfer syntax they were received in; each part's
Content-Type names it. PS3.18 8.7.3.5.2 would have us transcode to Explicit VR Little
Endian unless the client accepts ``transfer-syntax=*``; we never transcode, on purpose
(no pixel decoding in the server), as many archives do for their native syntax.

Metadata is the DICOM JSON stored at receipt (``store/instances.py``), joined as text
without parsing. It holds no PixelData (read with ``stop_before_pixels``), so no
BulkDataURI is given for it; other large binary values were stored with an empty
BulkDataURI, which is removed here, leaving the attribute with its VR only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.engine import Connection

from pacsbridge.errors import PacsbridgeError, UnknownKey
from pacsbridge.store.tables import dicom_instance

_EMPTY_BULK_DATA = ',"BulkDataURI":""'  # the stored JSON is compact (orjson)


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
        raise UnknownKey(f"no {target.describe()} is stored here", target.describe())
    files = [StoredFile(data_dir / row.path, row.transfer_syntax_uid) for row in rows]
    missing = [f.path.name for f in files if not f.path.is_file()]
    if missing:
        raise PacsbridgeError(f"{len(missing)} stored file(s) are missing, e.g. {missing[0]}")
    return files


def metadata(connection: Connection, target: Target) -> bytes:
    """The DICOM JSON array of the instances of ``target`` (PS3.18 10.4.1.1.2)."""
    texts = connection.execute(_select(target, dicom_instance.c.metadata)).scalars().all()
    if not texts:
        raise UnknownKey(f"no {target.describe()} is stored here", target.describe())
    return ("[" + ",".join(t.replace(_EMPTY_BULK_DATA, "") for t in texts) + "]").encode()
