"""CRUD, versions, history and conditional interactions over real HTTP, on both databases."""

from __future__ import annotations

import httpx


def patient(unique: str, family: str = "Garcia", **more: object) -> dict:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": f"urn:test:{unique}", "value": "1234567890"}],
        "name": [{"family": family, "given": ["Pedro", "M"]}],
        "gender": "male",
        "birthDate": "1975-10-22",
        **more,
    }


def test_create_answers_201_with_location_etag_and_the_stored_resource(fhir, unique):
    response = fhir.post("/Patient", json=patient(unique))
    assert response.status_code == 201
    body = response.json()
    assert body["id"] and body["meta"]["versionId"] == "1"
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Location"].endswith(f"/Patient/{body['id']}/_history/1")
    assert "GMT" in response.headers["Last-Modified"]
    assert response.headers["content-type"].startswith("application/fhir+json")


def test_create_ignores_a_client_id(fhir, unique):
    response = fhir.post("/Patient", json={**patient(unique), "id": "chosen-by-client"})
    assert response.status_code == 201
    assert response.json()["id"] != "chosen-by-client"


def test_read_returns_what_was_stored(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    response = fhir.get(f"/Patient/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["ETag"] == 'W/"1"'


def test_update_makes_a_new_version_and_vread_keeps_the_old(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    changed = {**created, "gender": "other"}
    response = fhir.put(f"/Patient/{created['id']}", json=changed)
    assert response.status_code == 200
    assert response.json()["meta"]["versionId"] == "2"
    assert response.headers["ETag"] == 'W/"2"'
    old = fhir.get(f"/Patient/{created['id']}/_history/1").json()
    assert old["gender"] == "male"
    assert fhir.get(f"/Patient/{created['id']}").json()["gender"] == "other"


def test_update_with_stale_if_match_answers_412(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    url = f"/Patient/{created['id']}"
    assert fhir.put(url, json=created, headers={"If-Match": 'W/"1"'}).status_code == 200
    stale = fhir.put(url, json=created, headers={"If-Match": 'W/"1"'})
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert fhir.get(url).json()["meta"]["versionId"] == "2"


def test_update_of_an_unknown_id_creates_it(fhir, unique):
    body = {**patient(unique), "id": f"p-{unique}"}
    response = fhir.put(f"/Patient/p-{unique}", json=body)
    assert response.status_code == 201
    assert response.headers["Location"].endswith(f"/Patient/p-{unique}/_history/1")


def test_update_with_mismatched_id_answers_400(fhir, unique):
    response = fhir.put(f"/Patient/a-{unique}", json={**patient(unique), "id": f"b-{unique}"})
    assert response.status_code == 400
    assert response.json()["issue"][0]["expression"] == ["Patient.id"]


def test_delete_then_read_answers_410_and_history_keeps_all_versions(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    url = f"/Patient/{created['id']}"
    fhir.put(url, json={**created, "active": True})
    assert fhir.delete(url).status_code == 200
    assert fhir.get(url).status_code == 410
    history = fhir.get(f"{url}/_history").json()
    assert history["type"] == "history"
    assert [e["request"]["method"] for e in history["entry"]] == ["DELETE", "PUT", "POST"]
    assert history["total"] == 3
    assert fhir.delete(url).status_code == 200  # deleting again changes nothing


def test_read_of_unknown_resource_answers_404_operation_outcome(fhir):
    response = fhir.get("/Patient/does-not-exist")
    assert response.status_code == 404
    assert response.json()["issue"][0]["code"] == "not-found"


def test_unknown_resource_type_answers_404(fhir):
    response = fhir.get("/Spaceship/1")
    assert response.status_code == 404
    assert response.json()["resourceType"] == "OperationOutcome"


def test_if_none_match_answers_304(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    response = fhir.get(f"/Patient/{created['id']}", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304
    assert response.content == b""


def test_conditional_create_creates_once(fhir, unique):
    criteria = f"identifier=urn:test:{unique}|1234567890"
    first = fhir.post("/Patient", json=patient(unique), headers={"If-None-Exist": criteria})
    again = fhir.post("/Patient", json=patient(unique), headers={"If-None-Exist": criteria})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]


def test_conditional_create_with_several_matches_answers_412(fhir, unique):
    fhir.post("/Patient", json=patient(unique))
    fhir.post("/Patient", json=patient(unique))
    criteria = f"identifier=urn:test:{unique}|1234567890"
    response = fhir.post("/Patient", json=patient(unique), headers={"If-None-Exist": criteria})
    assert response.status_code == 412


def test_conditional_update_creates_then_updates_the_match(fhir, unique):
    url = f"/Patient?identifier=urn:test:{unique}|1234567890"
    first = fhir.put(url, json=patient(unique))
    assert first.status_code == 201
    second = fhir.put(url, json=patient(unique, family="Lopez"))
    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["name"][0]["family"] == "Lopez"


def test_conditional_delete(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    response = fhir.delete(f"/Patient?identifier=urn:test:{unique}|1234567890")
    assert response.status_code == 200
    assert fhir.get(f"/Patient/{created['id']}").status_code == 410


def test_prefer_return_minimal_and_operation_outcome(fhir, unique):
    minimal = fhir.post("/Patient", json=patient(unique), headers={"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.content == b""
    assert minimal.headers["Location"]
    outcome = fhir.post(
        "/Patient", json=patient(unique), headers={"Prefer": "return=OperationOutcome"}
    )
    assert outcome.json()["resourceType"] == "OperationOutcome"


def test_invalid_resources_answer_422_naming_the_element(fhir, unique):
    bad_code = fhir.post("/Patient", json=patient(unique, gender="yes"))
    assert bad_code.status_code == 422
    assert bad_code.json()["issue"][0]["expression"] == ["Patient.gender"]
    unknown = fhir.post("/Patient", json=patient(unique, shoeSize=42))
    assert unknown.status_code == 422
    assert "Patient.shoeSize" in unknown.json()["issue"][0]["expression"]
    missing = fhir.post("/ServiceRequest", json={"resourceType": "ServiceRequest"})
    assert missing.status_code == 422
    locations = {e for i in missing.json()["issue"] for e in i.get("expression", [])}
    assert {"ServiceRequest.status", "ServiceRequest.intent", "ServiceRequest.subject"} <= locations


def test_bad_bodies_answer_400_or_415(fhir, unique):
    headers = {"Content-Type": "application/fhir+json"}
    assert fhir.post("/Patient", content=b"{not json", headers=headers).status_code == 400
    assert fhir.post("/Patient", content=b"[1, 2]", headers=headers).status_code == 400
    wrong_type = fhir.post("/Patient", json={"resourceType": "Organization", "name": "x"})
    assert wrong_type.status_code == 400
    text = fhir.post("/Patient", content=b"hello", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415


def test_type_and_system_history(fhir, unique):
    for _ in range(6):
        created = fhir.post("/Organization", json={"resourceType": "Organization", "name": unique})
    org_id = created.json()["id"]
    type_history = fhir.get("/Organization/_history", params={"_count": 500}).json()
    assert any(e["resource"]["id"] == org_id for e in type_history["entry"])
    system = fhir.get("/_history", params={"_count": 5}).json()
    assert system["type"] == "history" and len(system["entry"]) == 5
    next_page = next(link["url"] for link in system["link"] if link["relation"] == "next")
    assert httpx.get(next_page).json()["entry"]


def test_history_with_count_zero_gives_the_total_alone(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    fhir.put(f"/Patient/{created['id']}", json={**created, "active": False})
    for url in (f"/Patient/{created['id']}/_history", "/Patient/_history", "/_history"):
        response = fhir.get(url, params={"_count": 0})  # found by schemathesis: was a 500
        assert response.status_code == 200, url
        page = response.json()
        assert "entry" not in page and page["total"] >= 2
        assert not any(link["relation"] == "next" for link in page.get("link", []))


def test_history_since_filters_older_versions(fhir, unique):
    created = fhir.post("/Patient", json=patient(unique)).json()
    since = created["meta"]["lastUpdated"]
    fhir.put(f"/Patient/{created['id']}", json={**created, "active": False})
    page = fhir.get(f"/Patient/{created['id']}/_history", params={"_since": since}).json()
    assert page["total"] == 2
    later = fhir.get(f"/Patient/{created['id']}/_history", params={"_since": "2999-01-01"}).json()
    assert later["total"] == 0


def test_all_nine_resource_types_round_trip(fhir, unique):
    pid = fhir.post("/Patient", json=patient(unique)).json()["id"]
    subject = {"reference": f"Patient/{pid}"}
    resources = [
        {"resourceType": "Practitioner", "name": [{"family": "Lopez", "given": ["Ana"]}]},
        {"resourceType": "Organization", "name": "Hospital A"},
        {"resourceType": "Endpoint", "status": "active",
         "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
                            "code": "dicom-wado-rs"},
         "payloadType": [{"text": "DICOM"}], "address": "http://localhost/dicomweb"},
        {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
         "subject": subject},
        {"resourceType": "Appointment", "status": "booked",
         "participant": [{"actor": subject, "status": "accepted"}]},
        {"resourceType": "ImagingStudy", "status": "available", "subject": subject},
        {"resourceType": "DiagnosticReport", "status": "final", "subject": subject,
         "code": {"text": "CT abdomen"}},
        {"resourceType": "Procedure", "status": "in-progress", "subject": subject},
    ]  # fmt: skip
    for body in resources:
        response = fhir.post(f"/{body['resourceType']}", json=body)
        assert response.status_code == 201, response.text
        read = fhir.get(f"/{body['resourceType']}/{response.json()['id']}")
        assert read.status_code == 200
        assert {k: v for k, v in read.json().items() if k not in ("id", "meta")} == body
