"""Bulk data (PS3.18 8.6, 10.4.1.1.5): large binary values left out of the metadata.

At receipt every binary value over 1 KiB gets a BulkDataURI in the stored DICOM JSON
(``store/instances.py``), its service URL left as a placeholder that the metadata answer
replaces (rows from before have an empty one, filled here). The URL is ours,
``.../instances/{i}/bulkdata/{tag}[/{item}/{tag}...]`` (the path through sequences), and
that URL answers the value from the stored file, little endian, as one
``application/octet-stream`` part. A viewer (OHIF with ``bulkDataURI`` enabled) can then
fetch an encapsulated PDF, waveform samples or an ICC profile when it needs them.

Pixel Data is not in the metadata and gets no BulkDataURI: images are fetched by frame
(``frames.py``), which is what OHIF's ``wadors`` rendering does anyway.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from pydicom import dcmread
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset

from pacsbridge.dicomweb.media import OCTET_STREAM, MediaRange
from pacsbridge.dicomweb.problems import NotAcceptable
from pacsbridge.errors import BadValue, UnknownKey
from pacsbridge.formats.dicom.json import fill_bulk_uris

EMPTY_URI = '"BulkDataURI":""'  # as orjson writes it in the stored metadata
_TAG = re.compile(r"^[0-9A-Fa-f]{8}$")
_WIDTH = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}  # bytes swapped for a big-endian file


def with_uris(text: str, instance_url: str) -> str:
    """Stored DICOM JSON with each empty BulkDataURI made the URL of its value (rows
    stored before URIs were written at receipt); the caller checks for ``EMPTY_URI``."""
    found: dict[str, Any] = orjson.loads(text)
    fill_bulk_uris(found, f"{instance_url}/bulkdata")
    return orjson.dumps(found).decode()


def parse_path(text: str) -> list[int | str]:
    """``54000100/0/54001010`` to its steps: tags (as ints) and item indexes (as str)."""
    steps = text.strip("/").split("/")
    ok = len(steps) % 2 == 1 and all(
        _TAG.match(s) if i % 2 == 0 else s.isdigit() for i, s in enumerate(steps)
    )
    if not ok:
        raise BadValue(f"bulk data path {text!r} is not tag[/item/tag...]", "bulkdata")
    return [int(s, 16) if i % 2 == 0 else s for i, s in enumerate(steps)]


def read_value(path: Path, steps: list[int | str], name: str, *, big_endian: bool) -> bytes:
    """The value at ``steps`` in the stored file, little endian."""
    if steps[0] == 0x7FE00010:
        raise UnknownKey("Pixel Data is not bulk data here: fetch it by frame (/frames/1)")
    node: Dataset = dcmread(str(path), defer_size=4096)
    element: DataElement | None = None
    for step in steps:
        if isinstance(step, int):
            element = node.get(step)
        elif element is not None and element.VR == "SQ" and int(step) < len(element.value):
            node = element.value[int(step)]
            continue
        else:
            element = None
        if element is None:
            raise UnknownKey(f"instance {name} has no bulk data at {_text(steps)}", "bulkdata")
    value = element.value if element is not None else None
    if not isinstance(value, bytes):
        raise UnknownKey(f"{_text(steps)} of instance {name} is not a binary value", "bulkdata")
    if big_endian and element is not None and element.VR in _WIDTH:
        width = _WIDTH[element.VR]
        value = np.frombuffer(value, f">u{width}").astype(f"<u{width}").tobytes()
    return value


def _text(steps: list[int | str]) -> str:
    return "/".join(f"{s:08X}" if isinstance(s, int) else s for s in steps)


def is_multipart(accept: list[MediaRange]) -> bool:
    """Multipart (the default) or a single ``application/octet-stream`` body; 406 else."""
    for item in accept or [MediaRange("multipart/related")]:
        if item.media == "multipart/related" and item.params.get("type", OCTET_STREAM) in (
            OCTET_STREAM, "*/*"):  # fmt: skip
            return True
        if item.media in ("*/*", "multipart/*"):
            return True
        if item.matches(OCTET_STREAM):
            return False
    raise NotAcceptable(f"bulk data is {OCTET_STREAM}, alone or in multipart/related")
