"""JSON and XML, in and out: negotiation by Accept, _format and Content-Type."""

from __future__ import annotations

from pacsbridge.formats.fhir.xml import from_xml


def rich_patient(unique: str) -> dict:
    return {
        "resourceType": "Patient",
        "text": {"status": "generated",
                 "div": '<div xmlns="http://www.w3.org/1999/xhtml"><p>Pedro García</p></div>'},
        "identifier": [{"system": f"urn:mrn:{unique}", "value": "1234567890"}],
        "active": True,
        "name": [{"family": "García", "given": ["Pedro", "M"]}],
        "telecom": [{"system": "phone", "value": "+34 600 000 000", "use": "mobile"}],
        "gender": "male",
        "birthDate": "1975-10-22",
        "_birthDate": {"extension": [{"url": "http://example.org/time",
                                      "valueDateTime": "1975-10-22T04:30:00+01:00"}]},
        "address": [{"line": ["C/ Mayor 1"], "city": "Madrid", "postalCode": "28001"}],
        "multipleBirthInteger": 2,
    }  # fmt: skip


def test_xml_and_json_of_the_same_resource_carry_the_same_content(fhir, unique):
    created = fhir.post("/Patient", json=rich_patient(unique)).json()
    as_xml = fhir.get(f"/Patient/{created['id']}", headers={"Accept": "application/fhir+xml"})
    assert as_xml.headers["content-type"].startswith("application/fhir+xml")
    assert from_xml(as_xml.content) == created
    by_format = fhir.get(f"/Patient/{created['id']}", params={"_format": "xml"})
    assert from_xml(by_format.content) == created


def test_xml_body_is_stored_like_json(fhir, unique):
    created = fhir.post("/Patient", json=rich_patient(unique)).json()
    xml = fhir.get(f"/Patient/{created['id']}", params={"_format": "xml"}).content
    posted = fhir.post("/Patient", content=xml,
                       headers={"Content-Type": "application/fhir+xml; charset=UTF-8"})  # fmt: skip
    assert posted.status_code == 201, posted.text
    body = posted.json()
    assert {k: v for k, v in body.items() if k not in ("id", "meta")} == rich_patient(unique)


def test_accept_with_parameters_and_quality(fhir, unique):
    created = fhir.post("/Patient", json=rich_patient(unique)).json()
    url = f"/Patient/{created['id']}"
    json_answer = fhir.get(url, headers={"Accept": "application/fhir+json; fhirVersion=4.0"})
    assert json_answer.headers["content-type"].startswith("application/fhir+json")
    preferred = fhir.get(url, headers={"Accept": "application/fhir+json;q=0.5, "
                                                 "application/fhir+xml;q=0.9"})  # fmt: skip
    assert preferred.headers["content-type"].startswith("application/fhir+xml")


def test_search_bundle_in_xml(fhir, unique):
    fhir.post("/Patient", json=rich_patient(unique))
    response = fhir.get("/Patient", params={"identifier": f"urn:mrn:{unique}|1234567890",
                                            "_format": "application/fhir+xml"})  # fmt: skip
    bundle = from_xml(response.content)
    assert bundle["resourceType"] == "Bundle" and bundle["total"] == 1
    assert bundle["entry"][0]["resource"]["name"][0]["family"] == "García"


def test_errors_come_in_the_asked_format(fhir):
    response = fhir.get("/Patient/nope", headers={"Accept": "application/fhir+xml"})
    assert response.status_code == 404
    assert from_xml(response.content)["resourceType"] == "OperationOutcome"


def test_pretty_json(fhir, unique):
    created = fhir.post("/Patient", json=rich_patient(unique)).json()
    pretty = fhir.get(f"/Patient/{created['id']}", params={"_pretty": "true"})
    assert b"\n  " in pretty.content and pretty.json() == created


def test_malformed_xml_answers_400(fhir):
    response = fhir.post("/Patient", content=b"<Patient xmlns='http://hl7.org/fhir'><oops",
                         headers={"Content-Type": "application/fhir+xml"})  # fmt: skip
    assert response.status_code == 400
