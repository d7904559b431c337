"""STOW-RS (PS3.18 10.5): ``POST /studies[/{study}]`` with DICOM Part 10 files.

The body is ``multipart/related; type="application/dicom"``; each part is one file. Each
is kept exactly like a C-STORE (``store/instances.py``: the dataset bytes unchanged), and
the answer is the Store Instances Response Module: the references stored, and the
failures with their reason (PS3.18 Table 10.5.3-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any

from pydicom import dcmread
from pydicom.dataset import Dataset

from pacsbridge.errors import BadValue, Unsupported
from pacsbridge.store import Store
from pacsbridge.store.imaging_study import refresh_studies
from pacsbridge.store.instances import OtherStudy, store_instance

PROCESSING_FAILURE = 0x0110
STUDY_MISMATCH = 0xA900  # identifier does not match: another study than the URL's
CANNOT_UNDERSTAND = 0xC000


def split_multipart(body: bytes, content_type: str) -> list[bytes]:
    """The parts of a multipart/related body (RFC 2046 5.1), headers removed."""
    media, _, params = content_type.partition(";")
    if media.strip().lower() != "multipart/related":
        raise Unsupported(f"STOW-RS takes multipart/related, not {media.strip() or 'nothing'}")
    values = {}
    for item in params.split(";"):
        key, _, value = item.strip().partition("=")
        values[key.lower()] = value.strip().strip('"')
    boundary = values.get("boundary")
    kind = values.get("type", "application/dicom").lower()
    if not boundary:
        raise BadValue("the multipart Content-Type names no boundary", "Content-Type")
    if kind != "application/dicom":
        raise Unsupported(f"parts of type {kind} are not taken; send application/dicom")
    delimiter = b"--" + boundary.encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, separator, content = chunk.partition(b"\r\n\r\n")
        if not separator:
            raise BadValue("a multipart part has no header/body separator", "body")
        parts.append(content[:-2] if content.endswith(b"\r\n") else content)
    return parts


@dataclass
class Outcome:
    stored: list[Dataset]
    failed: list[Dataset]
    studies: set[str] = field(default_factory=set)  # the Study Instance UIDs stored into


def store_parts(
    store: Store, data_dir: Path, parts: list[bytes], study: str | None, wado_base: str
) -> Outcome:
    outcome = Outcome([], [])
    for part in parts:
        try:
            file_meta, dataset = _part10(part)
        except Exception:  # an unreadable part fails alone
            outcome.failed.append(_reference("", "", CANNOT_UNDERSTAND))
            continue
        sop_class = str(file_meta.get("MediaStorageSOPClassUID", ""))
        sop_instance = str(file_meta.get("MediaStorageSOPInstanceUID", ""))
        try:
            kept = store_instance(store, data_dir, file_meta, dataset, expected_study=study)
        except OtherStudy:
            outcome.failed.append(_reference(sop_class, sop_instance, STUDY_MISMATCH))
            continue
        except Exception:
            outcome.failed.append(_reference(sop_class, sop_instance, PROCESSING_FAILURE))
            continue
        item = _reference(sop_class, sop_instance, None)
        item.RetrieveURL = f"{wado_base}/studies/{kept.study_uid}"
        outcome.stored.append(item)
        outcome.studies.add(kept.study_uid)
    refresh_studies(store, outcome.studies, wado_base)  # the ImagingStudy before the answer
    return outcome


def _part10(part: bytes) -> tuple[Any, bytes]:
    """File meta and the dataset bytes after it, from a Part 10 file.

    The meta group starts with its own length (0002,0000), an explicit VR UL element of
    12 bytes (PS3.10 7.1), so the dataset begins 132 + 12 + that length bytes in.
    """
    if len(part) < 144 or part[128:132] != b"DICM":
        raise BadValue("a part is not a DICOM Part 10 file (no DICM preamble)")
    file_meta = dcmread(BytesIO(part), stop_before_pixels=True).file_meta
    start = 132 + 12 + int(file_meta.FileMetaInformationGroupLength)
    return file_meta, part[start:]


def _reference(sop_class: str, sop_instance: str, failure: int | None) -> Dataset:
    item = Dataset()
    item.ReferencedSOPClassUID = sop_class
    item.ReferencedSOPInstanceUID = sop_instance
    if failure is not None:
        item.FailureReason = failure
    return item


def response(outcome: Outcome, study: str | None, wado_base: str) -> Dataset:
    answer = Dataset()
    if study:
        answer.RetrieveURL = f"{wado_base}/studies/{study}"
    if outcome.stored:
        answer.ReferencedSOPSequence = outcome.stored
    if outcome.failed:
        answer.FailedSOPSequence = outcome.failed
    return answer
