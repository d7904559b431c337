"""fhirpy, a FHIR client nobody here wrote, against the running server."""

from __future__ import annotations

from fhirpy import SyncFHIRClient


def test_fhirpy_creates_searches_reads_and_updates(fhir_base, unique):
    client = SyncFHIRClient(fhir_base)
    patient = client.resource(
        "Patient",
        identifier=[{"system": f"urn:fhirpy:{unique}", "value": "1"}],
        name=[{"family": f"Fhirpy{unique}", "given": ["Ana"]}],
        gender="female",
    )
    patient.save()
    assert patient.id
    found = client.resources("Patient").search(identifier=f"urn:fhirpy:{unique}|1").fetch()
    assert [p.id for p in found] == [patient.id]
    read = client.reference("Patient", patient.id).to_resource()
    assert read["name"][0]["family"] == f"Fhirpy{unique}"
    read["gender"] = "other"
    read.save()
    assert client.reference("Patient", patient.id).to_resource()["meta"]["versionId"] == "2"
    order = client.resource("ServiceRequest", status="active", intent="order",
                            subject=patient.to_reference())  # fmt: skip
    order.save()
    orders = client.resources("ServiceRequest").search(patient=patient.id).fetch_all()
    assert [o.id for o in orders] == [order.id]
    counted = client.resources("Patient").search(family=f"fhirpy{unique}").count()
    assert counted == 1
