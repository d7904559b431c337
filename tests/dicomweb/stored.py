"""Helpers for the pixel-data tests: pydicom's bundled files stored over STOW-RS with fresh
UIDs, and a reader of any multipart/related answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from io import BytesIO

import httpx
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

OHIF_ACCEPT = "multipart/related; type=application/octet-stream; transfer-syntax=*"
BOUNDARY = "pixel-test-boundary"


@dataclass
class Stored:
    """One stored instance: its UIDs, and the dataset as sent (pixel data untouched)."""

    study: str
    series: str
    instance: str
    dataset: Dataset

    def url(self, server) -> str:
        return (f"{server.url}/dicomweb/studies/{self.study}/series/{self.series}"
                f"/instances/{self.instance}")  # fmt: skip


def stow_testdata(server, name: str, patient_id: str, *, study: str | None = None,
                  series: str | None = None, number: int = 1, **changes: object,
                  ) -> Stored:  # fmt: skip
    """pydicom's test file ``name`` with new UIDs, our patient and ``changes`` (keyword to
    value), stored over STOW-RS."""
    ds = dcmread(get_testdata_file(name))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.PatientID = patient_id
    ds.StudyInstanceUID = study or generate_uid()
    ds.SeriesInstanceUID = series or generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.InstanceNumber = number
    buffer = BytesIO()
    ds.save_as(buffer)
    body = (f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            + buffer.getvalue() + f"\r\n--{BOUNDARY}--\r\n".encode())  # fmt: skip
    headers = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'}
    response = httpx.post(f"{server.url}/dicomweb/studies", content=body, headers=headers)
    assert response.status_code == 200, response.text
    sent = dcmread(BytesIO(buffer.getvalue()))
    return Stored(str(ds.StudyInstanceUID), str(ds.SeriesInstanceUID), str(ds.SOPInstanceUID), sent)


def parts(response: httpx.Response) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a multipart/related answer (RFC 2046 5.1.1): headers and bytes."""
    assert response.status_code == 200, response.text
    media = response.headers["content-type"]
    assert media.startswith("multipart/related"), media
    boundary = re.search(r"boundary=\"?([^\";]+)", media).group(1).encode()
    body = response.content
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    found = []
    for chunk in body.split(b"\r\n--" + boundary)[:-1]:
        chunk = chunk.removeprefix(b"--" + boundary).removeprefix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode("ascii").split("\r\n") if line)
        found.append((headers, content))
    return found


def assert_problem(response: httpx.Response, status: int, *words: str) -> None:
    """A problem answer (RFC 9457) of ``status`` whose detail says each of ``words``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    for word in words:
        assert word in detail, detail
