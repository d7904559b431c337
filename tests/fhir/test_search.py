"""Search over real HTTP: parameter types, modifiers, prefixes, chains, includes, paging."""

from __future__ import annotations

import httpx
import pytest


def make_patient(fhir, unique, family, given="Ana", birth="1980-05-17", gender="female", **more):
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": f"urn:mrn:{unique}", "value": f"{family}-{given}"}],
        "name": [{"family": f"{family}{unique}", "given": [given]}],
        "birthDate": birth,
        "gender": gender,
        **more,
    }
    response = fhir.post("/Patient", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def ids(bundle: dict, mode: str = "match") -> set[str]:
    return {e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode}


def search(fhir, path: str, **params) -> dict:
    response = fhir.get(path, params=params) if params else fhir.get(path)
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert bundle["type"] == "searchset"
    return bundle


def test_string_search_is_prefix_case_and_accent_insensitive(fhir, unique):
    a = make_patient(fhir, unique, "Núñez")
    b = make_patient(fhir, unique, "Nunez")
    make_patient(fhir, unique, "Garcia")
    found = search(fhir, "/Patient", family=f"nunez{unique}"[:5])
    assert {a["id"], b["id"]} <= ids(found)
    assert ids(search(fhir, "/Patient", family=f"NUNEZ{unique}")) == {a["id"], b["id"]}
    exact = search(fhir, "/Patient", **{"family:exact": f"Núñez{unique}"})
    assert ids(exact) == {a["id"]}
    contains = search(fhir, "/Patient", **{"family:contains": f"ez{unique}"})
    assert ids(contains) == {a["id"], b["id"]}
    assert ids(search(fhir, "/Patient", name=f"garcia{unique}")) != set()


def test_token_search_with_system_and_not(fhir, unique):
    a = make_patient(fhir, unique, "Token", gender="male")
    b = make_patient(fhir, unique, "Token", given="Eva", gender="female")
    found = search(fhir, "/Patient", identifier=f"urn:mrn:{unique}|Token-Ana")
    assert ids(found) == {a["id"]}
    assert ids(search(fhir, "/Patient", identifier="Token-Eva")) >= {b["id"]}
    assert ids(search(fhir, "/Patient", identifier=f"urn:mrn:{unique}|")) == {a["id"], b["id"]}
    family = f"token{unique}"
    assert ids(search(fhir, "/Patient", family=family, gender="male")) == {a["id"]}
    assert ids(search(fhir, "/Patient", family=family, **{"gender:not": "male"})) == {b["id"]}
    assert ids(search(fhir, "/Patient", family=family, gender="male,female")) == {a["id"], b["id"]}


def test_date_prefixes_and_partial_dates(fhir, unique):
    old = make_patient(fhir, unique, "Dates", birth="1950-02-01")
    mid = make_patient(fhir, unique, "Dates", birth="1975-10-22")
    new = make_patient(fhir, unique, "Dates", birth="2001")
    family = f"dates{unique}"

    def found(*values):
        return ids(search(fhir, f"/Patient?family={family}&" + "&".join(values)))

    assert found("birthdate=1975") == {mid["id"]}
    assert found("birthdate=1975-10") == {mid["id"]}
    assert found("birthdate=1975-10-22") == {mid["id"]}
    assert found("birthdate=lt1960") == {old["id"]}
    assert found("birthdate=ge1975-10-22") == {mid["id"], new["id"]}
    assert found("birthdate=gt1975-10-22") == {new["id"]}
    assert found("birthdate=ge1950", "birthdate=le1980") == {old["id"], mid["id"]}
    assert found("birthdate=ne1975-10-22") == {old["id"], new["id"]}
    assert found("birthdate=sa1975-12-31") == {new["id"]}
    assert found("birthdate=eb1951") == {old["id"]}
    # 2001 covers the whole year: 2001-06-01 does not contain it, but ap overlaps it.
    assert found("birthdate=2001-06-01") == set()
    assert new["id"] in found("birthdate=ap2001-06-01")


def test_reference_chain_and_missing(fhir, unique):
    p = make_patient(fhir, unique, "Chain")
    order = fhir.post("/ServiceRequest", json={
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": {"reference": f"Patient/{p['id']}"},
        "requisition": {"system": f"urn:acc:{unique}", "value": "ACC1"},
    }).json()  # fmt: skip
    assert ids(search(fhir, "/ServiceRequest", patient=p["id"])) == {order["id"]}
    assert ids(search(fhir, "/ServiceRequest", subject=f"Patient/{p['id']}")) == {order["id"]}
    chained = search(fhir, "/ServiceRequest",
                     **{"patient.identifier": f"urn:mrn:{unique}|Chain-Ana"})  # fmt: skip
    assert ids(chained) == {order["id"]}
    by_name = search(fhir, "/ServiceRequest", **{"subject:Patient.family": f"chain{unique}"})
    assert ids(by_name) == {order["id"]}
    missing = search(fhir, "/ServiceRequest", requisition=f"urn:acc:{unique}|ACC1",
                     **{"occurrence:missing": "true"})  # fmt: skip
    assert ids(missing) == {order["id"]}


def test_include_revinclude_and_iterate(fhir, unique):
    p = make_patient(fhir, unique, "Incl")
    org = fhir.post("/Organization", json={"resourceType": "Organization", "name": unique}).json()
    fhir.put(f"/Patient/{p['id']}", json={**p, "managingOrganization": {
        "reference": f"Organization/{org['id']}"}})  # fmt: skip
    order = fhir.post("/ServiceRequest", json={
        "resourceType": "ServiceRequest", "status": "active", "intent": "order",
        "subject": {"reference": f"Patient/{p['id']}"}}).json()  # fmt: skip
    study = fhir.post("/ImagingStudy", json={
        "resourceType": "ImagingStudy", "status": "available",
        "subject": {"reference": f"Patient/{p['id']}"},
        "basedOn": [{"reference": f"ServiceRequest/{order['id']}"}]}).json()  # fmt: skip
    bundle = search(fhir, "/ImagingStudy", _id=study["id"], _include="ImagingStudy:patient")
    assert ids(bundle) == {study["id"]} and ids(bundle, "include") == {p["id"]}
    rev = search(fhir, "/Patient", _id=p["id"], _revinclude="ImagingStudy:patient")
    assert ids(rev, "include") == {study["id"]}
    plain = search(fhir, "/ImagingStudy?_id=" + study["id"] +
                   "&_include=ImagingStudy:patient&_include=Patient:organization")  # fmt: skip
    assert ids(plain, "include") == {p["id"]}
    iterated = search(
        fhir,
        "/ImagingStudy?_id="
        + study["id"]
        + "&_include=ImagingStudy:patient&_include:iterate=Patient:organization",
    )
    assert ids(iterated, "include") == {p["id"], org["id"]}


def test_paging_with_next_links_survives_inserts(fhir, unique):
    made = [make_patient(fhir, unique, "Page", given=f"G{n:02d}") for n in range(7)]
    family = f"page{unique}"
    first = search(fhir, "/Patient", family=family, _count=3, _sort="given")
    assert first["total"] == 7
    seen = [e["resource"]["name"][0]["given"][0] for e in first["entry"]]
    make_patient(fhir, unique, "Page", given="A-inserted")  # sorts before everything shown
    url = next(link["url"] for link in first["link"] if link["relation"] == "next")
    while url:
        page = httpx.get(url).json()
        seen += [e["resource"]["name"][0]["given"][0] for e in page.get("entry", [])]
        url = next((link["url"] for link in page["link"] if link["relation"] == "next"), None)
    assert seen == [f"G{n:02d}" for n in range(7)]
    assert len(made) == 7


def test_sort_descending_and_by_date(fhir, unique):
    for birth in ("1990-01-01", "1970-01-01", "1980-01-01"):
        make_patient(fhir, unique, "Sort", birth=birth)
    bundle = search(fhir, "/Patient", family=f"sort{unique}", _sort="-birthdate")
    assert [e["resource"]["birthDate"] for e in bundle["entry"]] == [
        "1990-01-01", "1980-01-01", "1970-01-01"]  # fmt: skip
    bundle = search(fhir, "/Patient", family=f"sort{unique}", _sort="birthdate", _count=2)
    assert [e["resource"]["birthDate"] for e in bundle["entry"]] == ["1970-01-01", "1980-01-01"]


def test_total_summary_and_elements(fhir, unique):
    make_patient(fhir, unique, "Summ")
    make_patient(fhir, unique, "Summ")
    family = f"summ{unique}"
    count = search(fhir, "/Patient", family=family, _summary="count")
    assert count["total"] == 2 and "entry" not in count
    none = search(fhir, "/Patient", family=family, _total="none")
    assert "total" not in none
    cut = search(fhir, "/Patient", family=family, _elements="birthDate")
    resource = cut["entry"][0]["resource"]
    assert "birthDate" in resource and "name" not in resource
    assert resource["meta"]["tag"][0]["code"] == "SUBSETTED"
    summary = search(fhir, "/Patient", family=family, _summary="true")
    assert "name" in summary["entry"][0]["resource"]


def test_last_updated_and_id(fhir, unique):
    p = make_patient(fhir, unique, "Upd")
    since = p["meta"]["lastUpdated"]
    assert p["id"] in ids(
        search(fhir, "/Patient", _lastUpdated=f"ge{since}", family=f"upd{unique}")
    )
    assert (
        ids(search(fhir, "/Patient", _lastUpdated="lt2000-01-01", family=f"upd{unique}")) == set()
    )
    assert ids(search(fhir, "/Patient", _id=p["id"])) == {p["id"]}


def test_unknown_parameters_lenient_and_strict(fhir, unique):
    lenient = search(fhir, "/Patient", family=f"x{unique}", shoeSize="42")
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert "shoeSize" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    strict = fhir.get("/Patient", params={"shoeSize": "42"},
                      headers={"Prefer": "handling=strict"})  # fmt: skip
    assert strict.status_code == 400


@pytest.mark.parametrize(
    "query",
    ["birthdate=notadate", "_count=many", "gender:fuzzy=male", "_sort=shoeSize",
     "_include=Patient:nothing", "family=", "_summary=maybe", "subject.name=x"],
)  # fmt: skip
def test_bad_search_values_answer_400(fhir, query):
    path = "/ServiceRequest" if query.startswith("subject") else "/Patient"
    response = fhir.get(f"{path}?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["resourceType"] == "OperationOutcome"


def test_post_search_equals_get_search(fhir, unique):
    p = make_patient(fhir, unique, "Post")
    response = fhir.post("/Patient/_search", data={"family": f"post{unique}"})
    assert response.status_code == 200
    assert ids(response.json()) == {p["id"]}


def test_imaging_study_parameters(fhir, unique):
    p = make_patient(fhir, unique, "Img")
    study = fhir.post("/ImagingStudy", json={
        "resourceType": "ImagingStudy", "status": "available",
        "subject": {"reference": f"Patient/{p['id']}"},
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:1.2.3.{int(unique, 16)}"}],
        "started": "2025-03-15T12:05:00+01:00", "numberOfSeries": 1, "numberOfInstances": 3,
        "series": [{"uid": f"1.2.3.{int(unique, 16)}.1",
                    "modality": {"system": "http://dicom.nema.org/resources/ontology/DCM",
                                 "code": "CT"},
                    "instance": [{"uid": f"1.2.3.{int(unique, 16)}.1.1",
                                  "sopClass": {"code": "1.2.840.10008.5.1.4.1.1.2"}}]}],
    }).json()  # fmt: skip
    assert ids(search(fhir, "/ImagingStudy", patient=p["id"], modality="CT")) == {study["id"]}
    assert ids(search(fhir, "/ImagingStudy", series=f"1.2.3.{int(unique, 16)}.1")) == {study["id"]}
    assert ids(search(fhir, "/ImagingStudy", patient=p["id"],
                      started="2025-03-15")) == {study["id"]}  # fmt: skip
    assert ids(search(fhir, "/ImagingStudy", patient=p["id"],
                      started="gt2025-03-16")) == set()  # fmt: skip
    by_count = search(fhir, "/ImagingStudy", patient=p["id"], **{"number-of-instances": "ge3"})
    assert ids(by_count) == {study["id"]}
