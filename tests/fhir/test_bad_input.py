"""Bad input never causes a 500: every refusal is a 4xx with an OperationOutcome."""

from __future__ import annotations

import pytest

JSON = {"Content-Type": "application/fhir+json"}
XML = {"Content-Type": "application/fhir+xml"}

BODIES = [
    (b'"just a string"', JSON),
    (b"[" * 5000 + b"]" * 5000, JSON),
    (b'{"resourceType": "Patient", "multipleBirthInteger": 123456789012345678901234567890}', JSON),
    (b'{"resourceType": "Patient", "gender": "\xff\xfe"}', JSON),
    (b'{"resourceType": "Patient", "name": [{"family": "\\ud800"}]}', JSON),
    (b'{"resourceType": "Patient", "name": [{"family": "nul\\u0000byte"}]}', JSON),
    (b'{"resourceType": "Patient", "name": "not a list"}', JSON),
    (b'{"resourceType": "Patient", "contained": [{"resourceType": "Nope"}]}', JSON),
    (b'{"resourceType": "Patient", "birthDate": "1975-02-30"}', JSON),
    (b'{"resourceType": "Patient", "managingOrganization": {"reference": "Patient/x y"}}', JSON),
    (b'{"resourceType": 42}', JSON),
    (b"", JSON),
    (b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa">]>'
     b'<Patient xmlns="http://hl7.org/fhir"><gender value="&a;"/></Patient>', XML),
    (b'<Patient xmlns="http://example.org/not-fhir"/>', XML),
    (b'<Patient xmlns="http://hl7.org/fhir"><shoe value="42"/></Patient>', XML),
    (b"\x00\x01\x02", XML),
]  # fmt: skip


@pytest.mark.parametrize("body,headers", BODIES)
def test_bad_bodies_are_refused_with_an_outcome(fhir, body, headers):
    response = fhir.post("/Patient", content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert b"OperationOutcome" in response.content


URLS = [
    "/Patient?_id=%00",
    "/Patient?family=a%00b",
    "/Patient?birthdate=ge",
    "/Patient?birthdate=2025-13-45",
    "/Patient?_count=-1",
    "/Patient?_count=99999999999999999999999",
    "/Patient?_cursor=garbage",
    "/Patient?_cursor=W1sicyIsMV1d",
    "/Patient?_sort=-",
    "/Patient?number-of-instances=1e99999",
    "/ImagingStudy?number-of-instances=abc",
    "/Patient?family=" + "x" * 10000,
    "/Patient/x/_history/abc",
    "/Patient/" + "x" * 1000,
    "/Patient?_lastUpdated=gt9999-12-31T23:59:59Z",
    "/Patient?birthdate=ap0001-01-01",
    "/Patient?_include=Nothing:here",
    "/Patient?_include=Patient",
    "/_history?_since=yesterday",
    "/Patient?_format=text/csv",
]


@pytest.mark.parametrize("url", URLS)
def test_bad_urls_never_answer_500(fhir, url):
    response = fhir.get(url)
    assert response.status_code < 500, response.text


def test_bad_headers_never_answer_500(fhir, unique):
    created = fhir.post("/Patient", json={"resourceType": "Patient"}).json()
    url = f"/Patient/{created['id']}"
    assert fhir.put(url, json=created, headers={"If-Match": "banana"}).status_code == 400
    assert fhir.get(url, headers={"If-Modified-Since": "not a date"}).status_code == 200
    assert fhir.get(url, headers={"Accept": ";;;q=x,,"}).status_code == 200
    odd = fhir.post("/Patient", json={"resourceType": "Patient"},
                    headers={"If-None-Exist": "shoe=42"})  # fmt: skip
    assert odd.status_code == 400


def test_bad_bundles_never_answer_500(fhir):
    bundles = [
        {"resourceType": "Bundle", "type": "transaction", "entry": [{}]},
        {"resourceType": "Bundle", "type": "transaction", "entry": "nope"},
        {"resourceType": "Bundle", "type": "transaction",
         "entry": [{"request": {"method": "POST", "url": "Patient"}, "resource": "x"}]},
        {"resourceType": "Bundle", "type": "transaction",
         "entry": [{"request": {"method": "GET", "url": "../../etc/passwd"}}]},
        {"resourceType": "Bundle", "type": "batch",
         "entry": [{"request": {"method": "PUT", "url": "Patient"}, "resource": {}}]},
        {"resourceType": "Bundle", "type": "transaction",
         "entry": [{"request": {"method": "POST", "url": "Patient"},
                    "resource": {"resourceType": "Patient",
                                 "link": [{"other": {"reference": "urn:uuid:missing"},
                                           "type": "seealso"}]}}]},
    ]  # fmt: skip
    for bundle in bundles:
        response = fhir.post("/", json=bundle)
        assert 200 <= response.status_code < 500, (bundle, response.text)
