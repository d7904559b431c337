"""Batch and transaction Bundles: references between entries, all-or-nothing, per-entry errors."""

from __future__ import annotations


def transaction(unique: str, *, broken: bool = False) -> dict:
    order = {
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        # A forward reference: the Patient comes later in the Bundle.
        "subject": {"reference": "urn:uuid:7f0c5a3e-0000-4000-8000-000000000001"},
        "requisition": {"system": f"urn:acc:{unique}", "value": "ACC-1"},
    }  # fmt: skip
    if broken:
        order["status"] = "not-a-status"
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:7f0c5a3e-0000-4000-8000-000000000002", "resource": order,
             "request": {"method": "POST", "url": "ServiceRequest"}},
            {"fullUrl": "urn:uuid:7f0c5a3e-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Patient",
                          "identifier": [{"system": f"urn:mrn:{unique}", "value": "42"}]},
             "request": {"method": "POST", "url": "Patient",
                         "ifNoneExist": f"identifier=urn:mrn:{unique}|42"}},
        ],
    }  # fmt: skip


def test_transaction_resolves_urn_references_and_answers_in_entry_order(fhir, unique):
    response = fhir.post("/", json=transaction(unique))
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "transaction-response"
    order_entry, patient_entry = bundle["entry"]
    assert order_entry["response"]["status"].startswith("201")
    assert patient_entry["response"]["status"].startswith("201")
    patient_id = patient_entry["resource"]["id"]
    order = fhir.get(order_entry["response"]["location"].split("/_history")[0].split("R4")[1])
    assert order.json()["subject"]["reference"] == f"Patient/{patient_id}"


def test_transaction_conditional_create_reuses_the_existing_resource(fhir, unique):
    first = fhir.post("/", json=transaction(unique)).json()
    second = fhir.post("/", json=transaction(unique)).json()
    assert second["entry"][1]["response"]["status"].startswith("200")
    assert first["entry"][1]["resource"]["id"] == second["entry"][1]["resource"]["id"]
    orders = fhir.get("/ServiceRequest", params={"requisition": f"urn:acc:{unique}|ACC-1"})
    assert orders.json()["total"] == 2


def test_failed_transaction_keeps_nothing(fhir, unique):
    response = fhir.post("/", json=transaction(unique, broken=True))
    assert response.status_code == 422
    assert "ServiceRequest.status" in str(response.json())
    patients = fhir.get("/Patient", params={"identifier": f"urn:mrn:{unique}|42"}).json()
    assert patients["total"] == 0


def test_transaction_with_conditional_reference(fhir, unique):
    patient = fhir.post("/Patient", json={
        "resourceType": "Patient", "identifier": [{"system": f"urn:mrn:{unique}", "value": "7"}],
    }).json()  # fmt: skip
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [{
        "resource": {"resourceType": "Appointment", "status": "booked", "participant": [
            {"actor": {"reference": f"Patient?identifier=urn:mrn:{unique}|7"},
             "status": "accepted"}]},
        "request": {"method": "POST", "url": "Appointment"}}]}  # fmt: skip
    response = fhir.post("/", json=bundle)
    assert response.status_code == 200, response.text
    appointment = response.json()["entry"][0]["resource"]
    assert appointment["participant"][0]["actor"]["reference"] == f"Patient/{patient['id']}"


def test_batch_entries_succeed_or_fail_alone(fhir, unique):
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "female"},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": "nope"},
         "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
        {"request": {"method": "GET", "url": f"Patient?identifier=urn:none:{unique}|x"}},
    ]}  # fmt: skip
    response = fhir.post("/", json=bundle)
    assert response.status_code == 200
    statuses = [e["response"]["status"][:3] for e in response.json()["entry"]]
    assert statuses == ["201", "422", "404", "200"]
    outcome = response.json()["entry"][1]["response"]["outcome"]
    assert outcome["issue"][0]["expression"] == ["Patient.gender"]


def test_bundle_of_wrong_type_answers_400(fhir):
    response = fhir.post("/", json={"resourceType": "Bundle", "type": "collection"})
    assert response.status_code == 400
