"""STOW-RS: DICOM files posted as multipart/related are stored like C-STORE does."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import httpx
from pydicom import dcmread

from tests.dicom.test_storage import fresh_ct
from tests.dicomweb.test_wado import parse_multipart

BOUNDARY = "stow-test-boundary"


def multipart(*parts: bytes) -> tuple[bytes, dict[str, str]]:
    body = b""
    for part in parts:
        body += f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode() + part + b"\r\n"
    body += f"--{BOUNDARY}--\r\n".encode()
    headers = {"Content-Type": f'multipart/related; type="application/dicom"; boundary={BOUNDARY}',
               "Accept": "application/dicom+json"}  # fmt: skip
    return body, headers


def test_stow_stores_and_wado_returns_the_same_bytes(server, fhir_base, unique, tmp_path: Path):
    path = fresh_ct(tmp_path, f"ST{unique}")
    sent = path.read_bytes()
    study_uid = str(dcmread(path).StudyInstanceUID)
    body, headers = multipart(sent)
    response = httpx.post(f"{server.url}/dicomweb/studies", content=body, headers=headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    stored = answer["00081199"]["Value"][0]  # ReferencedSOPSequence
    assert stored["00081155"]["Value"] == [str(dcmread(path).SOPInstanceUID)]
    found = httpx.get(f"{server.url}/dicomweb/studies", params={"PatientID": f"WLST{unique}"})
    assert [s["0020000D"]["Value"][0] for s in found.json()] == [study_uid]
    retrieved = httpx.get(
        f"{server.url}/dicomweb/studies/{study_uid}",
        headers={"Accept": 'multipart/related; type="application/dicom"'},
    )
    ((_, content),) = parse_multipart(retrieved)
    assert dcmread(BytesIO(content)).PixelData == dcmread(path).PixelData
    studies = httpx.get(
        f"{fhir_base}/ImagingStudy", params={"identifier": f"urn:dicom:uid|urn:oid:{study_uid}"}
    ).json()
    assert studies["total"] == 1


def test_bad_parts_fail_alone_and_another_study_is_refused(server, unique, tmp_path: Path):
    good = fresh_ct(tmp_path, f"SB{unique}").read_bytes()
    body, headers = multipart(good, b"not dicom at all")
    response = httpx.post(f"{server.url}/dicomweb/studies", content=body, headers=headers)
    assert response.status_code == 202
    failed = response.json()["00081198"]["Value"]  # FailedSOPSequence
    assert failed[0]["00081197"]["Value"] == [0xC000]  # FailureReason
    other = fresh_ct(tmp_path, f"SO{unique}").read_bytes()
    body, headers = multipart(other)
    response = httpx.post(f"{server.url}/dicomweb/studies/1.2.3.4.5", content=body,
                          headers=headers)  # fmt: skip
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0xA900]
    wrong = httpx.post(f"{server.url}/dicomweb/studies", content=b"x",
                       headers={"Content-Type": "application/json"})  # fmt: skip
    assert wrong.status_code == 400
