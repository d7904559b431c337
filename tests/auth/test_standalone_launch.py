"""The seed's second workflow: a patient's app launches standalone and gets its images.

The app is python ``fhirclient`` (the SMART client of the SMART project), which reads our
CapabilityStatement for the OAuth endpoints and makes the PKCE authorization request;
the patient signs in and allows access in Debian's Chromium, on our login and consent
pages; fhirclient exchanges the code. The token then reads the patient's ImagingStudy
through FHIR and retrieves its images through WADO-RS, and nothing of another patient.
"""

from __future__ import annotations

import uuid
from io import BytesIO

import httpx
from fhirclient import client
from fhirclient.models.imagingstudy import ImagingStudy
from pydicom import dcmread

from tests.auth.flows import PASSWORD, new_client, new_user
from tests.dicom.test_storage import imaging_study
from tests.dicomweb.stored import parts, stow_testdata
from tests.viewer.test_ohif import ARTIFACTS, browser  # noqa: F401  (the Chromium fixture)

CALLBACK = "http://127.0.0.1:9/app/callback"  # never reached: the browser's request is caught


def _patient_with_images(server) -> tuple[str, str, str]:
    """A CT stored for a new patient; the Patient id, the study UID, the SOP instance UID."""
    stored = stow_testdata(server, "CT_small.dcm", f"SMART-{uuid.uuid4().hex[:8]}")
    study = imaging_study(f"{server.url}/fhir/R4", stored.study)
    return study["subject"]["reference"].split("/")[1], stored.study, stored.instance


def test_a_patient_app_launches_reads_its_study_and_retrieves_the_images(
    server,
    secured,
    store,
    browser,  # noqa: F811
):
    patient, study_uid, sop_uid = _patient_with_images(server)
    _, other_study, _ = _patient_with_images(server)
    username = new_user(store, "patient", patient=patient)
    client_id, _ = new_client(store, "public", redirect_uris=(CALLBACK,))

    fhir_base = f"{secured.url}/fhir/R4"
    smart = client.FHIRClient(settings={
        "app_id": client_id, "api_base": fhir_base, "redirect_uri": CALLBACK,
        "scope": "launch/patient openid fhirUser patient/ImagingStudy.rs patient/Patient.rs"
        " patient/Endpoint.rs",
    })  # fmt: skip
    authorize_url = smart.authorize_url
    assert authorize_url.startswith(f"{secured.url}/auth/authorize?")
    assert "code_challenge_method=S256" in authorize_url

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    caught: list[str] = []
    page.route(f"{CALLBACK}**", lambda route: (caught.append(route.request.url),
                                               route.fulfill(status=200, body="done")))  # fmt: skip
    page.goto(authorize_url)
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "smart-login.png"))
    page.click("button[type=submit]")
    page.wait_for_selector("button[value=approve]")
    assert "patient/ImagingStudy.rs" in page.content()
    page.screenshot(path=str(ARTIFACTS / "smart-consent.png"))
    page.click("button[value=approve]")
    page.wait_for_timeout(200)
    for _ in range(50):
        if caught:
            break
        page.wait_for_timeout(100)
    page.close()
    assert caught, "the browser never came back to the app's redirect URI"

    smart.handle_callback(caught[0])
    assert smart.patient_id == patient
    token = smart.server.auth.access_token

    found = ImagingStudy.where(struct={"patient": patient}).perform_resources(smart.server)
    assert [s.id for s in found] and all(s.subject.reference == f"Patient/{patient}" for s in found)
    uid = next(i.value for s in found for i in s.identifier if i.system == "urn:dicom:uid")
    assert uid == f"urn:oid:{study_uid}"
    endpoint = smart.server.request_json(found[0].endpoint[0].reference)
    assert endpoint["address"].endswith("/dicomweb")
    wado_base = f"{secured.url}/dicomweb"  # the study was stored through the open server

    headers = {"Authorization": f"Bearer {token}"}
    dicom = {**headers, "Accept": 'multipart/related; type="application/dicom"'}
    answer = httpx.get(f"{wado_base}/studies/{study_uid}", headers=dicom, timeout=30)
    instances = [dcmread(BytesIO(content)) for _, content in parts(answer)]
    assert [str(ds.SOPInstanceUID) for ds in instances] == [sop_uid]

    other = httpx.get(f"{wado_base}/studies/{other_study}", headers=headers)
    assert other.status_code == 404
    listed = httpx.get(f"{wado_base}/studies", headers=headers).json()
    assert {s["0020000D"]["Value"][0] for s in listed} == {study_uid}
