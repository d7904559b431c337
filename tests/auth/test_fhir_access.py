"""A patient token sees its own compartment through FHIR, and nothing of anyone else's.

Two patients' records are written through the open server (same store); the secured
server is then asked for the other patient's data by every route FHIR offers. Whatever is
hidden must answer exactly as if it did not exist.
"""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any

import httpx
import pytest

RADIOLOGY = {"system": "http://loinc.org", "code": "LP29684-5"}
CARDIOLOGY = {"system": "http://loinc.org", "code": "LP29708-2"}


def _create(fhir: str, body: dict[str, Any]) -> str:
    answer = httpx.post(f"{fhir}/{body['resourceType']}", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


def _records(fhir: str, name: str) -> dict[str, str]:
    """A patient with one resource of each compartment type; their ids by type."""
    patient = _create(fhir, {"resourceType": "Patient", "name": [{"family": name}]})
    ref = {"reference": f"Patient/{patient}"}
    ids = {"Patient": patient}
    ids["ServiceRequest"] = _create(fhir, {"resourceType": "ServiceRequest", "status": "active",
                                           "intent": "order", "subject": ref})  # fmt: skip
    ids["ImagingStudy"] = _create(fhir, {"resourceType": "ImagingStudy", "status": "available",
                                         "subject": ref})  # fmt: skip
    ids["DiagnosticReport"] = _create(fhir, {
        "resourceType": "DiagnosticReport", "status": "final", "subject": ref,
        "category": [{"coding": [RADIOLOGY]}], "code": {"text": "CT head"},
    })  # fmt: skip
    ids["CardioReport"] = _create(fhir, {
        "resourceType": "DiagnosticReport", "status": "final", "subject": ref,
        "category": [{"coding": [CARDIOLOGY]}], "code": {"text": "ECG"},
    })  # fmt: skip
    ids["Procedure"] = _create(fhir, {"resourceType": "Procedure", "status": "completed",
                                      "subject": ref})  # fmt: skip
    return ids


@pytest.fixture(scope="module")
def two_patients(server, secured) -> tuple[dict[str, str], dict[str, str]]:
    fhir = f"{server.url}/fhir/R4"
    mine = _records(fhir, f"Mine{uuid.uuid4().hex[:8]}")
    theirs = _records(fhir, f"Theirs{uuid.uuid4().hex[:8]}")
    # A shared appointment: in my compartment, it also names the other patient.
    mine["Appointment"] = _create(fhir, {
        "resourceType": "Appointment", "status": "booked",
        "participant": [
            {"actor": {"reference": f"Patient/{mine['Patient']}"}, "status": "accepted"},
            {"actor": {"reference": f"Patient/{theirs['Patient']}"}, "status": "accepted"},
        ],
    })  # fmt: skip
    # The other patient's order names me as performer: a _revinclude must not reveal it.
    theirs["Performed"] = _create(fhir, {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": {"reference": f"Patient/{theirs['Patient']}"},
        "performer": [{"reference": f"Patient/{mine['Patient']}"}],
    })  # fmt: skip
    return mine, theirs


class Client:
    def __init__(self, base: str, token: str) -> None:
        self.http = httpx.Client(base_url=f"{base}/fhir/R4",
                                 headers={"Authorization": f"Bearer {token}"})  # fmt: skip

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params)

    def ids(self, path: str, **params: Any) -> set[str]:
        answer = self.get(path, **params)
        assert answer.status_code == 200, answer.text
        return {
            f"{e['resource']['resourceType']}/{e['resource']['id']}"
            for e in answer.json().get("entry", [])
            if e["resource"]["resourceType"] != "OperationOutcome"
        }


@pytest.fixture(scope="module")
def as_patient(secured, mint, two_patients) -> Client:
    mine, _ = two_patients
    return Client(secured.url, mint("launch/patient patient/*.rs", patient=mine["Patient"]))


def _not_found_like_nothing(client: Client, path: str, real_id: str) -> None:
    """The answer for a hidden id equals the answer for an id that never existed."""
    hidden = client.get(path)
    invented = client.get(path.replace(real_id, "doesnotexist0"))
    assert hidden.status_code == invented.status_code == 404
    assert hidden.json()["issue"][0]["code"] == invented.json()["issue"][0]["code"]
    text = hidden.json()["issue"][0]["diagnostics"].replace(real_id, "X")
    assert text == invented.json()["issue"][0]["diagnostics"].replace("doesnotexist0", "X")


def test_the_patient_reads_its_own_records(as_patient, two_patients):
    mine, _ = two_patients
    for kind in ("Patient", "ServiceRequest", "ImagingStudy", "DiagnosticReport", "Procedure",
                 "Appointment"):  # fmt: skip
        answer = as_patient.get(f"{kind}/{mine[kind]}")
        assert answer.status_code == 200, (kind, answer.text)
        assert answer.json()["id"] == mine[kind]
    found = as_patient.ids("ImagingStudy")
    assert found == {f"ImagingStudy/{mine['ImagingStudy']}"}


def test_reads_and_vreads_of_the_other_patient_are_not_found(as_patient, two_patients):
    _, theirs = two_patients
    for kind in ("Patient", "ServiceRequest", "ImagingStudy", "DiagnosticReport", "Procedure"):
        _not_found_like_nothing(as_patient, f"{kind}/{theirs[kind]}", theirs[kind])
        _not_found_like_nothing(as_patient, f"{kind}/{theirs[kind]}/_history/1", theirs[kind])
        _not_found_like_nothing(as_patient, f"{kind}/{theirs[kind]}/_history", theirs[kind])


def test_searches_naming_the_other_patient_find_nothing(as_patient, two_patients):
    _, theirs = two_patients
    other = theirs["Patient"]
    assert as_patient.ids("ImagingStudy", patient=other) == set()
    assert as_patient.ids("ImagingStudy", subject=f"Patient/{other}") == set()
    assert as_patient.ids("Patient", _id=other) == set()
    assert as_patient.ids("DiagnosticReport", _id=theirs["DiagnosticReport"]) == set()
    total = as_patient.get("ServiceRequest", patient=other, _total="accurate").json()
    assert total.get("total", 0) == 0


def test_chained_parameters_cannot_reach_the_other_patient(as_patient, two_patients):
    _, theirs = two_patients
    other = theirs["Patient"]
    assert as_patient.ids("ImagingStudy", **{"patient._id": other}) == set()
    assert as_patient.ids("DiagnosticReport", **{"subject:Patient._id": other}) == set()


def test_include_and_revinclude_show_only_my_compartment(as_patient, two_patients):
    mine, theirs = two_patients
    with_actors = as_patient.ids("Appointment", _include="Appointment:actor")
    assert f"Patient/{mine['Patient']}" in with_actors
    assert f"Patient/{theirs['Patient']}" not in with_actors
    reverse = as_patient.ids("Patient", _revinclude="ServiceRequest:performer")
    assert f"ServiceRequest/{theirs['Performed']}" not in reverse
    everything = as_patient.ids("Patient", _revinclude="ServiceRequest:*")
    assert all(item.split("/")[1] not in theirs.values() for item in everything)


def test_history_lists_only_my_resources(as_patient, two_patients):
    _, theirs = two_patients
    for path in ("ImagingStudy/_history", "_history", "Patient/_history"):
        listed = as_patient.ids(path, _count="1000")
        assert not {item.split("/")[1] for item in listed} & set(theirs.values()), path


def test_batch_entries_are_checked_one_by_one(as_patient, two_patients):
    mine, theirs = two_patients
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": f"Patient/{theirs['Patient']}"}},
        {"request": {"method": "GET", "url": f"ImagingStudy?patient={theirs['Patient']}"}},
        {"request": {"method": "GET", "url": f"Patient/{mine['Patient']}"}},
    ]}  # fmt: skip
    answer = as_patient.http.post("/", json=bundle)
    assert answer.status_code == 200, answer.text
    entries = answer.json()["entry"]
    assert entries[0]["response"]["status"].startswith("404")
    assert "entry" not in entries[1]["resource"]
    assert entries[2]["response"]["status"].startswith("200")


def test_a_read_only_token_writes_nothing(as_patient, two_patients):
    mine, theirs = two_patients
    body = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
            "subject": {"reference": f"Patient/{mine['Patient']}"}}  # fmt: skip
    answer = as_patient.http.post("/ServiceRequest", json=body)
    assert answer.status_code == 403
    assert answer.json()["issue"][0]["code"] == "security"
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "ServiceRequest"}, "resource": body},
    ]}  # fmt: skip
    assert as_patient.http.post("/", json=transaction).status_code == 403


def test_a_patient_writer_cannot_write_into_another_compartment(secured, mint, two_patients):
    mine, theirs = two_patients
    writer = Client(secured.url, mint("patient/ServiceRequest.cruds", patient=mine["Patient"]))
    own = {"resourceType": "ServiceRequest", "status": "active", "intent": "order",
           "subject": {"reference": f"Patient/{mine['Patient']}"}}  # fmt: skip
    assert writer.http.post("/ServiceRequest", json=own).status_code == 201
    other = {**own, "subject": {"reference": f"Patient/{theirs['Patient']}"}}
    assert writer.http.post("/ServiceRequest", json=other).status_code == 403
    stolen = {**own, "id": theirs["ServiceRequest"]}
    put = writer.http.put(f"/ServiceRequest/{theirs['ServiceRequest']}", json=stolen)
    assert put.status_code == 403
    conditional = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "request": {"method": "POST", "url": "ServiceRequest"},
        "resource": {**own, "subject": {"reference": f"Patient?_id={theirs['Patient']}"}},
    }]}  # fmt: skip
    assert writer.http.post("/", json=conditional).status_code == 403


def test_a_malformed_body_from_a_patient_writer_is_a_400(secured, mint, two_patients):
    mine, _ = two_patients
    writer = Client(secured.url, mint("patient/*.cruds", patient=mine["Patient"]))
    body = {"resourceType": "Patient", "id": [None, None], "active": False}  # schemathesis
    put = writer.http.put(f"/Patient/{mine['Patient']}", json=body)
    assert put.status_code in (400, 403), put.text
    assert put.json()["resourceType"] == "OperationOutcome"


def test_granular_scopes_narrow_by_category(secured, mint, two_patients):
    mine, _ = two_patients
    scope = "patient/DiagnosticReport.rs?category=http://loinc.org|LP29684-5"
    client = Client(secured.url, mint(scope, patient=mine["Patient"]))
    assert client.ids("DiagnosticReport") == {f"DiagnosticReport/{mine['DiagnosticReport']}"}
    assert client.get(f"DiagnosticReport/{mine['DiagnosticReport']}").status_code == 200
    assert client.get(f"DiagnosticReport/{mine['CardioReport']}").status_code == 404


def test_scopes_v1_and_type_limits(secured, mint, two_patients):
    mine, theirs = two_patients
    v1 = Client(secured.url, mint("patient/ImagingStudy.read", patient=mine["Patient"]))
    assert v1.ids("ImagingStudy") == {f"ImagingStudy/{mine['ImagingStudy']}"}
    refused = v1.get(f"Patient/{mine['Patient']}")
    assert refused.status_code == 403
    assert "patient/Patient.r" in refused.json()["issue"][0]["diagnostics"]
    staff = Client(secured.url, mint("user/*.*"))
    assert staff.get(f"Patient/{theirs['Patient']}").status_code == 200
    no_context = Client(secured.url, mint("patient/*.rs"))
    assert no_context.get("ImagingStudy").status_code == 403


def test_the_audit_trail_is_for_administrators(secured, mint, as_patient):
    assert as_patient.get("AuditEvent").status_code == 403
    staff = Client(secured.url, mint("user/*.cruds", role="staff"))
    assert staff.get("AuditEvent").status_code == 403
    admin = Client(secured.url, mint("user/*.cruds", role="admin"))
    assert admin.get("AuditEvent").status_code == 200


def test_every_access_is_in_the_audit_trail(secured, mint, as_patient, two_patients):
    mine, theirs = two_patients
    study = mine["ImagingStudy"]
    assert as_patient.get(f"ImagingStudy/{study}").status_code == 200
    assert as_patient.get(f"ImagingStudy/{theirs['ImagingStudy']}").status_code == 404
    admin = Client(secured.url, mint("user/*.cruds", role="admin", subject="auditor"))
    deadline = time.monotonic() + 10
    while True:
        found = admin.get("AuditEvent", entity=f"ImagingStudy/{study}", _count="100").json()
        events = [e["resource"] for e in found.get("entry", [])]
        refused = admin.get(
            "AuditEvent", entity=f"ImagingStudy/{theirs['ImagingStudy']}", outcome="4"
        ).json()
        reads = [e for e in events if e["subtype"][0]["code"] == "read"]
        if (reads and refused.get("entry")) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert reads, "the read was not audited"
    read = reads[0]
    assert read["outcome"] == "0"
    assert read["action"] == "R"
    assert read["agent"][0]["network"]["address"] == "127.0.0.1"
    whats = {entity["what"].get("reference") for entity in read["entity"]}
    assert f"Patient/{mine['Patient']}" in whats
    assert refused.get("entry"), "the refused read was not audited"


def test_refusals_at_the_gate_are_in_the_audit_trail(secured, mint, unique):
    """No token, or a bad one, on patient data: 401, and an auditor can see the attempt."""
    assert httpx.get(f"{secured.url}/fhir/R4/Patient", params={"name": f"n{unique}"}
                     ).status_code == 401  # fmt: skip
    bad = {"Authorization": "Bearer not-a-token"}
    assert httpx.get(f"{secured.url}/dicomweb/studies", params={"PatientID": f"d{unique}"},
                     headers=bad).status_code == 401  # fmt: skip
    page = httpx.get(f"{secured.url}/console/patients", params={"q": f"c{unique}"})
    assert page.status_code == 303  # a browser is sent to the login page: not an attempt
    admin = Client(secured.url, mint("user/*.cruds", role="admin", subject="auditor"))
    code = "https://pacsbridge.org/fhir/CodeSystem/interaction|unauthenticated"
    deadline = time.monotonic() + 10
    while True:
        found = admin.get("AuditEvent", subtype=code, _count="200").json()
        events = {base64.b64decode(entity["query"]).decode(): e["resource"]
                  for e in found.get("entry", []) for entity in e["resource"]["entity"]
                  if "query" in entity}  # fmt: skip
        mine = {query: event for query, event in events.items() if unique in query}
        if len(mine) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert sorted(mine) == [f"GET /dicomweb/studies?PatientID=d{unique}",
                            f"GET /fhir/R4/Patient?name=n{unique}"], list(events)  # fmt: skip
    for event in mine.values():
        assert event["outcome"] == "4" and event["action"] == "E"
        assert event["agent"][0]["network"]["address"] == "127.0.0.1"
