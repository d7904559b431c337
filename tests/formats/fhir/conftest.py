"""Sample resources for the FHIR codec tests: one valid resource of each type we serve.

Each fixture builds a fresh dict, so tests may change it freely.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

DICOM = "http://dicom.nema.org/resources/ontology/DCM"
STUDY_UID = "1.2.826.0.1.3680043.8.498.1"
V2 = "http://terminology.hl7.org/CodeSystem/v2"
CT_IMAGE = {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.2"}
BASIC_SR = {"system": "urn:ietf:rfc:3986", "code": "urn:oid:1.2.840.10008.5.1.4.1.1.88.11"}


SAMPLE_TYPES = ["Patient", "ServiceRequest", "Appointment", "ImagingStudy", "DiagnosticReport",
                "Endpoint", "Procedure", "Practitioner", "Organization"]  # fmt: skip
"""The resource types the samples cover: the ones pacsbridge serves."""


def make_patient() -> dict:
    return {
        "resourceType": "Patient",
        "id": "pat-1",
        "meta": {"versionId": "3", "lastUpdated": "2024-05-01T08:30:00.123+02:00"},
        "text": {
            "status": "generated",
            "div": (
                '<div xmlns="http://www.w3.org/1999/xhtml"><p>Jane <b>Müller</b> &amp; co</p></div>'
            ),
        },
        "identifier": [
            {
                "use": "usual",
                "type": {"coding": [{"system": f"{V2}-0203", "code": "MR"}]},
                "system": "urn:oid:1.2.36.146.595.217.0.1",
                "value": "12345",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": "Müller", "given": ["Jane", "Q"]}],
        "telecom": [
            {"system": "phone", "value": "+41 44 123 45 67", "use": "home"},
            {"system": "email", "value": "jane@example.org"},
        ],
        "gender": "female",
        "birthDate": "1974-12-25",
        "address": [
            {
                "use": "home",
                "line": ["Bahnhofstrasse 1", "c/o Meier"],
                "city": "Zürich",
                "postalCode": "8001",
                "country": "CH",
            }
        ],
    }


def make_service_request() -> dict:
    return {
        "resourceType": "ServiceRequest",
        "id": "sr-1",
        "identifier": [{"system": "urn:example:accession", "value": "ACC-0001"}],
        "status": "active",
        "intent": "order",
        "priority": "routine",
        "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2", "display": "CT"}]},
        "subject": {"reference": "Patient/pat-1"},
        "occurrenceDateTime": "2024-05-02T09:00:00+02:00",
        "authoredOn": "2024-05-01",
        "requester": {"reference": "Practitioner/dr-1", "display": "Dr. Who"},
        "quantityQuantity": {"value": 1.5, "unit": "mSv"},
        "note": [{"text": "Patient is **claustrophobic**."}],
    }


def make_appointment() -> dict:
    return {
        "resourceType": "Appointment",
        "id": "ap-1",
        "status": "booked",
        "serviceType": [{"text": "CT"}],
        "start": "2024-05-02T09:00:00+02:00",
        "end": "2024-05-02T09:30:00+02:00",
        "minutesDuration": 30,
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "participant": [
            {"actor": {"reference": "Patient/pat-1"}, "required": "required", "status": "accepted"}
        ],
    }


def make_imaging_study() -> dict:
    return {
        "resourceType": "ImagingStudy",
        "id": "is-1",
        "identifier": [{"system": "urn:dicom:uid", "value": f"urn:oid:{STUDY_UID}"}],
        "status": "available",
        "modality": [{"system": DICOM, "code": "CT"}],
        "subject": {"reference": "Patient/pat-1"},
        "started": "2024-05-02T09:05:00+02:00",
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "endpoint": [{"reference": "Endpoint/ep-1"}],
        "numberOfSeries": 2,
        "numberOfInstances": 3,
        "series": [
            {
                "uid": f"{STUDY_UID}.1",
                "number": 1,
                "modality": {"system": DICOM, "code": "CT"},
                "description": "Axial",
                "numberOfInstances": 2,
                "bodySite": {"system": "http://snomed.info/sct", "code": "51185008"},
                "instance": [
                    {"uid": f"{STUDY_UID}.1.1", "sopClass": dict(CT_IMAGE), "number": 1},
                    {"uid": f"{STUDY_UID}.1.2", "sopClass": dict(CT_IMAGE), "number": 2},
                ],
            },
            {
                "uid": f"{STUDY_UID}.2",
                "modality": {"system": DICOM, "code": "SR"},
                "instance": [
                    {"uid": f"{STUDY_UID}.2.1", "sopClass": dict(BASIC_SR)},
                ],
            },
        ],
    }


def make_diagnostic_report() -> dict:
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr-1",
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "status": "final",
        "category": [{"coding": [{"system": f"{V2}-0074", "code": "RAD"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "24627-2"}]},
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": "2024-05-02T09:05:00+02:00",
        "issued": "2024-05-02T11:00:00Z",
        "resultsInterpreter": [{"reference": "Practitioner/dr-1"}],
        "imagingStudy": [{"reference": "ImagingStudy/is-1"}],
        "conclusion": "No acute findings.",
        "presentedForm": [{"contentType": "text/plain", "data": "Tm8gYWN1dGUgZmluZGluZ3Mu"}],
    }


def make_endpoint() -> dict:
    return {
        "resourceType": "Endpoint",
        "id": "ep-1",
        "status": "active",
        "connectionType": {
            "system": "http://terminology.hl7.org/CodeSystem/endpoint-connection-type",
            "code": "dicom-wado-rs",
        },
        "payloadType": [{"text": "DICOM"}],
        "payloadMimeType": ["application/dicom"],
        "address": "https://pacs.example.org/dicomweb",
    }


def make_procedure() -> dict:
    return {
        "resourceType": "Procedure",
        "id": "pr-1",
        "basedOn": [{"reference": "ServiceRequest/sr-1"}],
        "status": "completed",
        "code": {"text": "CT Chest"},
        "subject": {"reference": "Patient/pat-1"},
        "performedPeriod": {
            "start": "2024-05-02T09:05:00+02:00",
            "end": "2024-05-02T09:20:00+02:00",
        },
        "performer": [{"actor": {"reference": "Practitioner/dr-1"}}],
    }


def make_practitioner() -> dict:
    return {
        "resourceType": "Practitioner",
        "id": "dr-1",
        "identifier": [{"system": "urn:oid:2.51.1.3", "value": "7601000000000"}],
        "active": True,
        "name": [{"family": "Who", "given": ["John"], "prefix": ["Dr."]}],
        "gender": "male",
    }


def make_organization() -> dict:
    return {
        "resourceType": "Organization",
        "id": "org-1",
        "active": True,
        "name": "Radiology Zürich",
        "telecom": [{"system": "url", "value": "https://radiology.example.org"}],
        "address": [{"city": "Zürich", "country": "CH"}],
    }


def make_operation_outcome() -> dict:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {
                "severity": "error",
                "code": "required",
                "diagnostics": "Missing required element 'status'",
                "location": ["ServiceRequest.status"],
                "expression": ["ServiceRequest.status"],
            },
            {"severity": "information", "code": "informational", "details": {"text": "ok"}},
        ],
    }


def make_capability_statement() -> dict:
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2024-05-01",
        "kind": "instance",
        "software": {"name": "pacsbridge", "version": "0.1.0"},
        "implementation": {"description": "Test server", "url": "http://localhost:8080/fhir"},
        "fhirVersion": "4.0.1",
        "format": ["json", "xml"],
        "rest": [
            {
                "mode": "server",
                "resource": [
                    {
                        "type": "Patient",
                        "interaction": [{"code": "read"}, {"code": "search-type"}],
                        "versioning": "versioned",
                        "readHistory": False,
                        "searchParam": [
                            {"name": "identifier", "type": "token"},
                            {"name": "birthdate", "type": "date"},
                        ],
                    }
                ],
                "interaction": [{"code": "transaction"}],
            }
        ],
    }


def make_searchset(count: int = 2) -> dict:
    entries = []
    for number in range(count):
        patient = make_patient()
        patient["id"] = f"pat-{number}"
        entries.append(
            {
                "fullUrl": f"http://localhost/fhir/Patient/pat-{number}",
                "resource": patient,
                "search": {"mode": "match", "score": 1},
            }
        )
    entries.append(
        {
            "fullUrl": "urn:uuid:0a6f1b7c-3f0e-4d38-9b56-2c1d7f4e9a11",
            "resource": make_operation_outcome(),
            "search": {"mode": "outcome"},
        }
    )
    return {
        "resourceType": "Bundle",
        "id": "search-1",
        "meta": {"lastUpdated": "2024-05-01T08:30:00Z"},
        "type": "searchset",
        "total": count,
        "link": [{"relation": "self", "url": "http://localhost/fhir/Patient?name=jane"}],
        "entry": entries,
    }


SAMPLES: dict[str, Callable[..., dict]] = {
    "Patient": make_patient,
    "ServiceRequest": make_service_request,
    "Appointment": make_appointment,
    "ImagingStudy": make_imaging_study,
    "DiagnosticReport": make_diagnostic_report,
    "Endpoint": make_endpoint,
    "Procedure": make_procedure,
    "Practitioner": make_practitioner,
    "Organization": make_organization,
    "OperationOutcome": make_operation_outcome,
    "CapabilityStatement": make_capability_statement,
    "Bundle": make_searchset,
}


@pytest.fixture
def samples() -> dict[str, Callable[..., dict]]:
    """Resource type -> a function building a fresh valid sample (Bundle: a searchset)."""
    return SAMPLES
