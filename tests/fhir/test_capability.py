"""The CapabilityStatement says what runs, generated from providers and the registry."""

from __future__ import annotations

from pacsbridge.fhir.providers import PROVIDERS


def test_metadata_lists_every_provider_with_its_search_parameters(fhir, store):
    response = fhir.get("/metadata")
    assert response.status_code == 200
    statement = response.json()
    assert statement["fhirVersion"] == "4.0.1"
    assert {"application/fhir+json", "application/fhir+xml"} <= set(statement["format"])
    rest = statement["rest"][0]
    assert [r["type"] for r in rest["resource"]] == [p.type for p in PROVIDERS]
    for entry in rest["resource"]:
        names = {p["name"] for p in entry["searchParam"]}
        assert names == {p.name for p in store.registry.for_resource(entry["type"])}
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert {"read", "vread", "search-type", "create", "update", "delete"} <= {
        i["code"] for i in patient["interaction"]}  # fmt: skip
    assert {"transaction", "batch", "history-system"} == {i["code"] for i in rest["interaction"]}


def test_metadata_in_xml(fhir):
    response = fhir.get("/metadata", params={"_format": "xml"})
    assert response.status_code == 200
    assert b"<CapabilityStatement" in response.content
