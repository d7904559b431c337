"""DICOMweb under --auth required: scopes per service, a patient sees only its own studies.

Two patients' studies are stored over STOW-RS on the open server (the same store), which
builds each ImagingStudy before it answers and links it to the Patient by Patient ID; the
secured server is then asked with signed tokens, over real HTTP.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from io import BytesIO

import httpx
import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

from tests.dicomweb.stored import BOUNDARY, Stored, assert_problem, parts, stow_testdata

STUDY_UID, SERIES_UID, SOP_UID, PATIENT_ID = "0020000D", "0020000E", "00080018", "00100020"


@dataclass
class Patient:
    id: str  # the FHIR Patient id
    mrn: str  # the DICOM PatientID
    studies: list[Stored]


def _new_patient(server, family: str) -> Patient:
    mrn = f"AUTH{uuid.uuid4().hex[:10]}"
    body = {"resourceType": "Patient", "name": [{"family": family}],
            "identifier": [{"system": "urn:pacsbridge:id:dicom", "value": mrn}]}  # fmt: skip
    created = httpx.post(f"{server.url}/fhir/R4/Patient", json=body)
    assert created.status_code == 201, created.text
    return Patient(created.json()["id"], mrn, [])


@pytest.fixture(scope="module")
def two(server) -> tuple[Patient, Patient]:
    """Patient A with two studies, patient B with one; each ImagingStudy built."""
    a, b = _new_patient(server, "Alpha"), _new_patient(server, "Beta")
    a.studies += [stow_testdata(server, "CT_small.dcm", a.mrn) for _ in range(2)]
    b.studies.append(stow_testdata(server, "CT_small.dcm", b.mrn))
    for patient in (a, b):
        for study in patient.studies:
            found = httpx.get(f"{server.url}/fhir/R4/ImagingStudy",
                              params={"identifier": f"urn:oid:{study.study}"}).json()  # fmt: skip
            [entry] = found["entry"]
            assert entry["resource"]["subject"]["reference"] == f"Patient/{patient.id}"
    return a, b


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def uids(answer: httpx.Response, tag: str = STUDY_UID) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {item[tag]["Value"][0] for item in answer.json()}


def test_a_patient_searches_only_its_own_studies(secured, mint, two):
    a, b = two
    headers = bearer(mint("patient/ImagingStudy.rs", patient=a.id))
    base = f"{secured.url}/dicomweb"
    mine = {s.study for s in a.studies}
    assert uids(httpx.get(f"{base}/studies", headers=headers)) == mine
    series = httpx.get(f"{base}/series", headers=headers)
    assert uids(series, SERIES_UID) == {s.series for s in a.studies}
    instances = httpx.get(f"{base}/instances", headers=headers)
    assert uids(instances, SOP_UID) == {s.instance for s in a.studies}
    [theirs] = b.studies
    for path, params in (
        ("/studies", {"PatientID": b.mrn}),
        ("/studies", {"StudyInstanceUID": theirs.study}),
        ("/series", {"StudyInstanceUID": theirs.study}),
        ("/instances", {"SOPInstanceUID": theirs.instance}),
        (f"/studies/{theirs.study}/series", {}),
        (f"/studies/{theirs.study}/instances", {}),
        (f"/studies/{theirs.study}/series/{theirs.series}/instances", {}),
    ):
        answer = httpx.get(base + path, params=params, headers=headers)
        assert answer.status_code == 200 and answer.json() == [], (path, answer.text)
    own = httpx.get(f"{base}/studies", params={"PatientID": a.mrn}, headers=headers)
    assert uids(own) == mine


def _wado_paths(study: str, series: str, instance: str) -> list[str]:
    s = f"/studies/{study}/series/{series}"
    i = f"{s}/instances/{instance}"
    return [f"/studies/{study}", f"/studies/{study}/metadata", f"/studies/{study}/thumbnail",
            s, f"{s}/metadata", f"{s}/thumbnail", i, f"{i}/metadata", f"{i}/rendered",
            f"{i}/thumbnail", f"{i}/frames/1", f"{i}/frames/1/rendered",
            f"{i}/bulkdata/00100010"]  # fmt: skip


def test_another_patients_study_answers_like_one_that_does_not_exist(secured, mint, two):
    a, b = two
    headers = bearer(mint("patient/ImagingStudy.rs", patient=a.id))
    [theirs] = b.studies
    absent = generate_uid()
    hidden = _wado_paths(theirs.study, theirs.series, theirs.instance)
    missing = _wado_paths(absent, theirs.series, theirs.instance)
    for path, other in zip(hidden, missing, strict=True):
        answer = httpx.get(f"{secured.url}/dicomweb{path}", headers=headers)
        nothing = httpx.get(f"{secured.url}/dicomweb{other}", headers=headers)
        assert_problem(answer, 404, "is stored here")
        assert nothing.status_code == 404
        assert answer.headers["content-type"] == nothing.headers["content-type"]
        assert answer.text.replace(theirs.study, "<uid>") == nothing.text.replace(absent, "<uid>")


class _HostWithPort(requests.Session):
    """dicomweb-client (0.61) sets ``Host`` to the host name without the port on every GET
    it does not stream; the server checks a token's audience against the URL it was
    called as, so that Host must go: requests then sends the right one."""

    def request(self, method, url, *args, headers=None, **kwargs):
        kept = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
        return super().request(method, url, *args, headers=kept, **kwargs)


def test_a_patient_retrieves_its_own_study_through_dicomweb_client(secured, mint, two):
    a, b = two
    session = _HostWithPort()
    session.headers["Authorization"] = f"Bearer {mint('patient/ImagingStudy.rs', patient=a.id)}"
    client = DICOMwebClient(url=f"{secured.url}/dicomweb", session=session)
    found = client.search_for_studies()
    assert {s[STUDY_UID]["Value"][0] for s in found} == {s.study for s in a.studies}
    mine = a.studies[0]
    instance = client.retrieve_instance(mine.study, mine.series, mine.instance)
    assert instance.SOPInstanceUID == mine.instance
    assert instance.PatientID == a.mrn
    assert instance.PixelData == mine.dataset.PixelData
    metadata = client.retrieve_instance_metadata(mine.study, mine.series, mine.instance)
    assert metadata[PATIENT_ID]["Value"] == [a.mrn]
    assert metadata[SOP_UID]["Value"] == [mine.instance]
    with pytest.raises(requests.HTTPError) as refused:
        client.retrieve_study(b.studies[0].study)
    assert refused.value.response.status_code == 404


def test_a_patients_own_frames_and_rendered_images_come_back(secured, mint, two):
    a, _ = two
    mine = a.studies[0]
    headers = bearer(mint("patient/ImagingStudy.rs", patient=a.id))
    url = mine.url(secured)
    octets = {**headers, "Accept": "multipart/related; type=application/octet-stream"}
    [(_, frame)] = parts(httpx.get(f"{url}/frames/1", headers=octets))
    assert frame == mine.dataset.PixelData
    rendered = httpx.get(f"{url}/rendered", headers={**headers, "Accept": "image/png"})
    assert rendered.status_code == 200 and rendered.headers["content-type"] == "image/png"
    study = httpx.get(f"{secured.url}/dicomweb/studies/{mine.study}", headers=headers)
    [(_, content)] = parts(study)
    assert dcmread(BytesIO(content)).SOPInstanceUID == mine.instance


def _stow_body(patient_id: str) -> tuple[bytes, dict[str, str], str]:
    ds = dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientID = patient_id
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    buffer = BytesIO()
    ds.save_as(buffer)
    body = (f"--{BOUNDARY}\r\nContent-Type: application/dicom\r\n\r\n".encode()
            + buffer.getvalue() + f"\r\n--{BOUNDARY}--\r\n".encode())  # fmt: skip
    kind = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'
    return body, {"Content-Type": kind}, str(ds.StudyInstanceUID)


def test_stow_with_a_patient_token_is_refused_and_stores_nothing(secured, mint, two):
    a, _ = two
    admin = bearer(mint("user/*.cruds"))
    for scope in ("patient/ImagingStudy.rs", "patient/ImagingStudy.cruds", "patient/*.cruds"):
        body, headers, study = _stow_body(a.mrn)
        token = bearer(mint(scope, patient=a.id))
        answer = httpx.post(f"{secured.url}/dicomweb/studies", content=body,
                            headers={**headers, **token})  # fmt: skip
        assert_problem(answer, 403, "STOW-RS" if scope != "patient/ImagingStudy.rs" else "create")
        assert httpx.get(f"{secured.url}/dicomweb/studies/{study}/metadata",
                         headers=admin).status_code == 404  # fmt: skip
    body, headers, study = _stow_body(f"AUTH{uuid.uuid4().hex[:10]}")  # not A: A keeps two
    stored = httpx.post(
        f"{secured.url}/dicomweb/studies", content=body, headers={**headers, **admin}
    )
    assert stored.status_code == 200, stored.text


def test_tokens_without_imaging_study_grants_are_refused(secured, mint, two):
    a, _ = two
    mine = a.studies[0]
    for scope, patient, may_search in (
        ("patient/Patient.rs", a.id, False),
        ("patient/ImagingStudy.rs", None, False),  # no patient in the launch context
        ("user/ImagingStudy.rs?modality=CT", None, False),  # granular: not applied here
        ("user/ImagingStudy.s", None, True),  # search, but no read
    ):
        headers = bearer(mint(scope, patient=patient))
        study = httpx.get(f"{secured.url}/dicomweb/studies/{mine.study}/metadata", headers=headers)
        assert_problem(study, 403)
        search = httpx.get(f"{secured.url}/dicomweb/studies", headers=headers)
        assert search.status_code == (200 if may_search else 403), (scope, search.text)


def test_user_and_mixed_tokens_see_every_patient(secured, mint, two):
    a, b = two
    for token in (mint("user/*.cruds"), mint("user/ImagingStudy.rs"),
                  mint("patient/ImagingStudy.rs user/ImagingStudy.rs", patient=a.id),
                  mint("system/ImagingStudy.read", kind="system")):  # fmt: skip
        headers = bearer(token)
        for patient in (a, b):
            found = httpx.get(f"{secured.url}/dicomweb/studies", params={"PatientID": patient.mrn},
                              headers=headers)  # fmt: skip
            assert uids(found) == {s.study for s in patient.studies}
            url = f"{patient.studies[0].url(secured)}/metadata"
            assert httpx.get(url, headers=headers).status_code == 200


def test_the_viewers_session_cookie_is_a_patient_principal_too(secured, mint, two):
    a, b = two
    cookies = {"pacsbridge_session": mint("patient/ImagingStudy.rs", patient=a.id)}
    with httpx.Client(base_url=f"{secured.url}/dicomweb", cookies=cookies) as viewer:
        assert uids(viewer.get("/studies")) == {s.study for s in a.studies}
        assert viewer.get(f"/studies/{b.studies[0].study}/metadata").status_code == 404


def test_a_cors_preflight_passes_without_credentials_and_allows_authorization(secured):
    origin = "http://viewer.example"
    asked = {"Origin": origin, "Access-Control-Request-Method": "GET",
             "Access-Control-Request-Headers": "authorization, accept"}  # fmt: skip
    preflight = httpx.options(f"{secured.url}/dicomweb/studies", headers=asked)
    assert preflight.status_code == 200, preflight.text
    assert preflight.headers["access-control-allow-origin"] in ("*", origin)
    allowed = re.split(r"\s*,\s*", preflight.headers["access-control-allow-headers"].lower())
    assert "authorization" in allowed


def test_the_audit_trail_hears_each_answer_and_whose_images(secured, mint, two, monkeypatch):
    a, b = two
    heard: list[dict] = []

    def record(principal, **event):
        heard.append({"who": principal, **event})

    monkeypatch.setattr(secured.app.state.audit, "record", record)
    headers = bearer(mint("patient/ImagingStudy.rs", patient=a.id))
    no_images = bearer(mint("patient/Patient.rs", patient=a.id))
    theirs, mine = b.studies[0], a.studies[0]
    httpx.get(f"{secured.url}/dicomweb/studies", headers=headers)
    httpx.get(f"{mine.url(secured)}/metadata", headers=headers)
    httpx.get(f"{secured.url}/dicomweb/studies/{theirs.study}", headers=headers)
    httpx.get(f"{secured.url}/dicomweb/studies", headers=no_images)
    httpx.get(f"{mine.url(secured)}/rendered", headers=bearer(mint("user/ImagingStudy.rs")))
    search, read, hidden, refused, rendered = [e for e in heard if e["source"] == "dicomweb"]
    assert (search["interaction"], search["action"], search["outcome"]) == ("qido-rs", "R", 200)
    assert search["patients"] == [a.id] and search["query"] == "/dicomweb/studies"
    assert sorted(search["entities"]) == sorted(f"urn:dicom:uid:{s.study}" for s in a.studies)
    assert (read["interaction"], read["outcome"], read["patients"]) == ("metadata", 200, [a.id])
    assert read["entities"] == [f"urn:dicom:uid:{mine.study}"]
    assert (hidden["interaction"], hidden["outcome"]) == ("wado-rs", 404)
    assert hidden["patients"] == [b.id]  # the trail knows whose study was asked for
    assert hidden["who"].patient == a.id
    assert (refused["interaction"], refused["outcome"]) == ("qido-rs", 403)
    assert (rendered["interaction"], rendered["patients"]) == ("rendered", [a.id])
