"""Tests of index row extraction: every datatype under every parameter type."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from pacsbridge.store.search.extract import IndexRows, extract
from pacsbridge.store.search.params import SearchParam, SearchRegistry, load_registry
from pacsbridge.store.search.values import MAX_DATE, MIN_DATE

DAY_END = (23, 59, 59, 999999)


@pytest.fixture(scope="module")
def registry() -> SearchRegistry:
    return load_registry()


def rows_of(registry: SearchRegistry, resource: dict[str, Any]) -> IndexRows:
    return extract(resource, registry.for_resource(resource["resourceType"]))


def of(rows: list[tuple[Any, ...]], name: str) -> list[tuple[Any, ...]]:
    """The rows of one parameter, without its name."""
    return [row[1:] for row in rows if row[0] == name]


def param(type_: str, *paths: str, targets: tuple[str, ...] = ()) -> list[SearchParam]:
    return [SearchParam("Basic", "p", type_, paths, targets)]


# A Patient as the brief's ADT would make it, with a little of everything.
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "1234567890",
    "meta": {
        "versionId": "2",
        "lastUpdated": "2025-03-15T12:00:00.123+01:00",
        "tag": [{"system": "http://example.org/tags", "code": "hl7"}],
        "security": [
            {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}
        ],  # fmt: skip
        "profile": ["http://example.org/StructureDefinition/patient"],
    },
    "identifier": [
        {"system": "urn:oid:1.2.3.4", "value": "1234567890"},
        {"value": "no-system"},
        {"system": "urn:oid:1.2.3.4"},  # no value: nothing to index
    ],
    "active": True,
    "name": [
        {"use": "official", "family": "García", "given": ["Pedro", "M"], "prefix": ["Sr."]},
        {"text": "Pedro García", "suffix": ["Jr"]},
    ],
    "telecom": [
        {"system": "phone", "value": "+34 600 000 000", "use": "mobile"},
        {"system": "email", "value": "pedro@example.org"},
    ],
    "gender": "male",
    "birthDate": "1975-10-22",
    "address": [
        {
            "line": ["C/ Mayor 1", "2º B"],
            "city": "Madrid",
            "district": "Centro",
            "state": "Madrid",  # same as the city: one row
            "postalCode": "28001",
            "country": "ES",
            "use": "home",
        }
    ],
    "generalPractitioner": [
        {"reference": "Practitioner/12345"},
        {"reference": "Patient/elsewhere"},  # not a practitioner: not a target
    ],
    "managingOrganization": {"reference": "Organization/hospital-a"},
    "link": [{"other": {"reference": "Patient/old-1"}, "type": "replaces"}],
}


# --- strings ---


def test_human_name_is_indexed_by_each_part(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.strings, "name") == [
        ("garcia", "García"),
        ("pedro", "Pedro"),
        ("m", "M"),
        ("sr.", "Sr."),
        ("pedro garcia", "Pedro García"),
        ("jr", "Jr"),
    ]
    assert of(rows.strings, "family") == [("garcia", "García")]
    assert of(rows.strings, "given") == [("pedro", "Pedro"), ("m", "M")]


def test_address_is_indexed_by_each_part(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.strings, "address") == [
        ("c/ mayor 1", "C/ Mayor 1"),
        ("2o b", "2º B"),
        ("madrid", "Madrid"),
        ("centro", "Centro"),
        ("28001", "28001"),
        ("es", "ES"),
    ]
    assert of(rows.strings, "address-city") == [("madrid", "Madrid")]
    assert of(rows.strings, "address-postalcode") == [("28001", "28001")]
    assert of(rows.strings, "address-country") == [("es", "ES")]
    assert of(rows.tokens, "address-use") == [(None, "home")]


def test_address_text_is_indexed() -> None:
    rows = extract({"address": {"text": "Calle  Mayor 1, Madrid"}}, param("string", "address"))
    assert rows.strings == [("p", "calle mayor 1, madrid", "Calle  Mayor 1, Madrid")]


def test_string_primitives_and_alias_lists() -> None:
    org = {"resourceType": "Organization", "name": "Hospital Ñ", "alias": ["HÑ", "  "]}
    rows = extract(org, param("string", "name", "alias"))
    assert rows.strings == [("p", "hospital n", "Hospital Ñ"), ("p", "hn", "HÑ")]


def test_string_params_skip_what_is_not_text() -> None:
    resource = {"a": 5, "b": True, "c": {"coding": []}, "d": [None, {"x": 1}]}
    assert extract(resource, param("string", "a", "b", "c", "d")).strings == []


# --- tokens ---


def test_identifier_and_contact_point_give_system_and_value(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.tokens, "identifier") == [
        ("urn:oid:1.2.3.4", "1234567890"),
        (None, "no-system"),
    ]
    assert of(rows.tokens, "telecom") == [
        ("phone", "+34 600 000 000"),
        ("email", "pedro@example.org"),
    ]


def test_phone_and_email_filter_on_the_contact_system(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.tokens, "phone") == [("phone", "+34 600 000 000")]
    assert of(rows.tokens, "email") == [("email", "pedro@example.org")]


def test_code_boolean_and_id_primitives(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.tokens, "gender") == [(None, "male")]
    assert of(rows.tokens, "active") == [(None, "true")]
    assert of(rows.tokens, "_id") == [(None, "1234567890")]
    assert of(rows_of(registry, {**PATIENT, "active": False}).tokens, "active") == [(None, "false")]


def test_meta_tag_and_security_are_codings(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.tokens, "_tag") == [("http://example.org/tags", "hl7")]
    assert of(rows.tokens, "_security") == [
        ("http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "N")
    ]


def test_codeable_concept_gives_each_coding_but_not_its_text(registry: SearchRegistry) -> None:
    order = {
        "resourceType": "ServiceRequest",
        "code": {
            "coding": [
                {"system": "http://loinc.org", "code": "72193", "display": "CT abdomen"},
                {"system": "http://hospital-a/procedures", "code": "TC-ABD"},
                {"display": "no code"},
            ],
            "text": "TC ABDOMEN SIN CONTRASTE",
        },
        "category": [{"text": "text only"}],
    }
    rows = rows_of(registry, order)
    assert of(rows.tokens, "code") == [
        ("http://loinc.org", "72193"),
        ("http://hospital-a/procedures", "TC-ABD"),
    ]
    assert of(rows.tokens, "category") == []
    assert rows.strings == []


def test_coding_array_with_and_without_system(registry: SearchRegistry) -> None:
    study = {
        "resourceType": "ImagingStudy",
        "series": [
            {
                "uid": "1.2.3.1",
                "modality": {
                    "system": "http://dicom.nema.org/resources/ontology/DCM",
                    "code": "CT",
                },
            },  # fmt: skip
            {"uid": "1.2.3.2", "modality": {"code": "SR"}},
        ],
    }
    rows = rows_of(registry, study)
    assert of(rows.tokens, "modality") == [
        ("http://dicom.nema.org/resources/ontology/DCM", "CT"),
        (None, "SR"),
    ]
    assert of(rows.tokens, "series") == [(None, "1.2.3.1"), (None, "1.2.3.2")]


def test_tokens_skip_numbers_and_empty_values() -> None:
    resource = {"a": 3, "b": "", "c": {"system": "s"}, "d": {"coding": "bad"}}
    assert extract(resource, param("token", "a", "b", "c", "d")).tokens == []


# --- references ---


def test_relative_references_and_target_filtering(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.references, "general-practitioner") == [("Practitioner", "12345", None)]
    assert of(rows.references, "organization") == [("Organization", "hospital-a", None)]
    assert of(rows.references, "link") == [("Patient", "old-1", None)]


def test_patient_param_keeps_only_patient_subjects(registry: SearchRegistry) -> None:
    for subject, expected in [
        ("Patient/1", [("Patient", "1", None)]),
        ("Group/g1", []),
    ]:
        rows = rows_of(
            registry, {"resourceType": "ImagingStudy", "subject": {"reference": subject}}
        )
        assert of(rows.references, "patient") == expected
        assert of(rows.references, "subject") == [
            (subject.split("/")[0], subject.split("/")[1], None)
        ]


def test_reference_forms() -> None:
    resource = {
        "r": [
            {"reference": "Patient/1/_history/3"},
            {"reference": "http://example.org/fhir/Patient/2"},
            {"reference": "https://example.org/fhir/Patient/3/_history/1"},
            {"reference": "urn:uuid:8d1a0bfc-9e7b-4c4e-8f4d-111111111111"},
            {"reference": "#contained-1"},
            {"reference": "Patient/not an id"},
            {"display": "only a display"},
        ]
    }
    assert extract(resource, param("reference", "r")).references == [
        ("p", "Patient", "1", None),
        ("p", "Patient", "2", "http://example.org/fhir/Patient/2"),
        ("p", "Patient", "3", "https://example.org/fhir/Patient/3"),
        ("p", None, None, "urn:uuid:8d1a0bfc-9e7b-4c4e-8f4d-111111111111"),
    ]


def test_reference_type_element_fills_in_and_filters() -> None:
    resource = {
        "r": [
            {"reference": "urn:uuid:8d1a0bfc-9e7b-4c4e-8f4d-111111111111", "type": "Patient"},
            {"reference": "urn:uuid:8d1a0bfc-9e7b-4c4e-8f4d-222222222222", "type": "Group"},
            {"reference": "urn:uuid:8d1a0bfc-9e7b-4c4e-8f4d-333333333333"},  # type unknown: kept
        ]
    }
    rows = extract(resource, param("reference", "r", targets=("Patient",)))
    assert [row[1:] for row in rows.references] == [
        ("Patient", None, "urn:uuid:8d1a0bfc-9e7b-4c4e-8f4d-111111111111"),
        (None, None, "urn:uuid:8d1a0bfc-9e7b-4c4e-8f4d-333333333333"),
    ]


def test_absolute_references_are_filtered_by_target_too() -> None:
    resource = {"r": [{"reference": "http://x.org/fhir/Group/1"}, {"reference": "Patient/1"}]}
    rows = extract(resource, param("reference", "r", targets=("Patient",)))
    assert rows.references == [("p", "Patient", "1", None)]


def test_logical_reference_identifier_goes_to_tokens() -> None:
    resource = {"basedOn": [{"identifier": {"system": "http://hospital-a/acc", "value": "A1"}}]}
    rows = extract(resource, param("reference", "basedOn"))
    assert rows.references == []
    assert rows.tokens == [("p", "http://hospital-a/acc", "A1")]


def test_canonical_values_are_kept_as_urls_without_version(registry: SearchRegistry) -> None:
    order = {
        "resourceType": "ServiceRequest",
        "instantiatesCanonical": ["http://example.org/PlanDefinition/ct-protocol|2.1"],
        "instantiatesUri": ["http://example.org/protocols/ct"],
    }
    rows = rows_of(registry, order)
    assert of(rows.references, "instantiates-canonical") == [
        (None, None, "http://example.org/PlanDefinition/ct-protocol")
    ]
    assert of(rows.uris, "instantiates-uri") == [("http://example.org/protocols/ct",)]


def test_appointment_actor_params_split_by_target(registry: SearchRegistry) -> None:
    appointment = {
        "resourceType": "Appointment",
        "start": "2025-03-15T12:00:00Z",
        "participant": [
            {"actor": {"reference": "Patient/p1"}, "status": "accepted"},
            {"actor": {"reference": "Practitioner/dr1"}, "status": "accepted"},
            {"actor": {"reference": "Location/ct-room"}, "status": "tentative"},
        ],
    }
    rows = rows_of(registry, appointment)
    assert of(rows.references, "patient") == [("Patient", "p1", None)]
    assert of(rows.references, "practitioner") == [("Practitioner", "dr1", None)]
    assert of(rows.references, "location") == [("Location", "ct-room", None)]
    assert len(of(rows.references, "actor")) == 3
    assert of(rows.tokens, "part-status") == [(None, "accepted"), (None, "tentative")]
    assert of(rows.dates, "date") == [
        (datetime(2025, 3, 15, 12), datetime(2025, 3, 15, 12, 0, 0, 999999))
    ]


def test_endpoint_from_study_and_series(registry: SearchRegistry) -> None:
    study = {
        "resourceType": "ImagingStudy",
        "endpoint": [{"reference": "Endpoint/wado-rs"}],
        "series": [
            {"uid": "1", "endpoint": [{"reference": "Endpoint/wado-rs"}]},
            {"uid": "2", "endpoint": [{"reference": "Endpoint/other"}]},
        ],
    }
    assert of(rows_of(registry, study).references, "endpoint") == [
        ("Endpoint", "wado-rs", None),
        ("Endpoint", "other", None),
    ]


# --- dates ---


def test_dates_of_any_precision(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert of(rows.dates, "birthdate") == [
        (datetime(1975, 10, 22), datetime(1975, 10, 22, *DAY_END))
    ]
    assert of(rows.dates, "_lastUpdated") == [
        (datetime(2025, 3, 15, 11, 0, 0, 123000), datetime(2025, 3, 15, 11, 0, 0, 123999))
    ]
    rows = rows_of(registry, {**PATIENT, "birthDate": "1975"})
    assert of(rows.dates, "birthdate") == [(datetime(1975, 1, 1), datetime(1975, 12, 31, *DAY_END))]


def test_period_runs_from_start_low_to_end_high() -> None:
    resource = {"when": {"start": "2025-03-15", "end": "2025-03-16T10:00:00+01:00"}}
    assert extract(resource, param("date", "when")).dates == [
        ("p", datetime(2025, 3, 15), datetime(2025, 3, 16, 9, 0, 0, 999999))
    ]


def test_period_open_ends() -> None:
    only_start = extract({"when": {"start": "2025-03"}}, param("date", "when"))
    assert only_start.dates == [("p", datetime(2025, 3, 1), MAX_DATE)]
    only_end = extract({"when": {"end": "2025-03"}}, param("date", "when"))
    assert only_end.dates == [("p", MIN_DATE, datetime(2025, 3, 31, *DAY_END))]
    assert extract({"when": {"start": None}}, param("date", "when")).dates == []


def test_timing_events_and_bounds(registry: SearchRegistry) -> None:
    order = {
        "resourceType": "ServiceRequest",
        "occurrenceTiming": {
            "event": ["2025-03-15T09:00:00Z", "2025-03-16"],
            "repeat": {"boundsPeriod": {"start": "2025-03-15", "end": "2025-03-20"}},
        },
    }
    assert of(rows_of(registry, order).dates, "occurrence") == [
        (datetime(2025, 3, 15, 9), datetime(2025, 3, 15, 9, 0, 0, 999999)),
        (datetime(2025, 3, 16), datetime(2025, 3, 16, *DAY_END)),
        (datetime(2025, 3, 15), datetime(2025, 3, 20, *DAY_END)),
    ]


def test_choice_elements_are_separate_paths(registry: SearchRegistry) -> None:
    period = {"resourceType": "Procedure", "performedPeriod": {"start": "2025-03-15T10:00:00Z"}}
    assert of(rows_of(registry, period).dates, "date") == [(datetime(2025, 3, 15, 10), MAX_DATE)]
    text = {"resourceType": "Procedure", "performedString": "last spring"}
    assert of(rows_of(registry, text).dates, "date") == []


def test_bad_dates_are_skipped_not_fatal() -> None:
    resource = {
        "a": "15/03/2025",
        "b": {"start": "2025-02-30", "end": "2025-03-01"},
        "c": {"event": ["nope", "2025"], "repeat": {"boundsPeriod": {"end": "bad"}}},
        "d": 2025,
    }
    assert extract(resource, param("date", "a", "b", "c", "d")).dates == [
        ("p", datetime(2025, 1, 1), datetime(2025, 12, 31, *DAY_END))
    ]


# --- uris, numbers, quantities ---


def test_uris(registry: SearchRegistry) -> None:
    rows = rows_of(registry, PATIENT)
    assert rows.uris == [("_profile", "http://example.org/StructureDefinition/patient")]


def test_numbers_from_integer_and_decimal(registry: SearchRegistry) -> None:
    study = {"resourceType": "ImagingStudy", "numberOfSeries": 3, "numberOfInstances": 512}
    rows = rows_of(registry, study)
    assert rows.numbers == [
        ("number-of-series", Decimal(3)),
        ("number-of-instances", Decimal(512)),
    ]
    decimals = extract({"n": [0.1, 2.50, True, "7", None]}, param("number", "n"))
    assert decimals.numbers == [("p", Decimal("0.1")), ("p", Decimal("2.5"))]


def test_quantities() -> None:
    resource = {
        "q": [
            {"value": 7.5, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"},
            {"value": 40, "comparator": "<", "unit": "years"},
            {"value": 12.3, "currency": "EUR"},
            {"unit": "mg"},
            3,
        ]
    }
    assert extract(resource, param("quantity", "q")).quantities == [
        ("p", Decimal("7.5"), "http://unitsofmeasure.org", "mg", "mg"),
        ("p", Decimal(40), None, None, "years"),
        ("p", Decimal("12.3"), "urn:iso:std:iso:4217", "EUR", None),
        ("p", Decimal(3), None, None, None),
    ]


# --- paths, dedup, whole resources ---


def test_nested_arrays_are_walked(registry: SearchRegistry) -> None:
    study = {
        "resourceType": "ImagingStudy",
        "series": [
            {
                "uid": "s1",
                "instance": [
                    {"uid": "i1", "sopClass": {"code": "1.2.840.10008.5.1.4.1.1.2"}},
                    {"uid": "i2"},
                ],
            },  # fmt: skip
            {"uid": "s2", "instance": [{"uid": "i3"}]},
            {"uid": "s3"},
        ],
    }
    rows = rows_of(registry, study)
    assert of(rows.tokens, "instance") == [(None, "i1"), (None, "i2"), (None, "i3")]
    assert of(rows.tokens, "dicom-class") == [(None, "1.2.840.10008.5.1.4.1.1.2")]


def test_walking_tolerates_odd_shapes() -> None:
    resource = {"a": "text", "b": [1, "x", {"c": "ok"}], "d": {"c": None}}
    params = param("string", "a.c", "b.c", "d.c", "missing.c")
    assert extract(resource, params).strings == [("p", "ok", "ok")]


def test_rows_are_deduplicated(registry: SearchRegistry) -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "s", "value": "1"}, {"system": "s", "value": "1"}],
        "name": [{"family": "Ruiz", "given": ["Ana"]}, {"family": "Ruiz", "text": "Ana"}],
        "telecom": [{"system": "phone", "value": "1"}, {"system": "phone", "value": "1"}],
    }
    rows = rows_of(registry, patient)
    assert of(rows.tokens, "identifier") == [("s", "1")]
    assert of(rows.strings, "name") == [("ruiz", "Ruiz"), ("ana", "Ana")]
    assert of(rows.strings, "family") == [("ruiz", "Ruiz")]
    assert of(rows.tokens, "phone") == [("phone", "1")]


def test_same_normalized_value_with_different_spelling_keeps_both() -> None:
    rows = extract({"n": ["García", "GARCIA"]}, param("string", "n"))
    assert rows.strings == [("p", "garcia", "García"), ("p", "garcia", "GARCIA")]


def test_an_extra_parameter_from_configuration_is_extracted() -> None:
    registry = load_registry(
        [
            {
                "resource": "ImagingStudy",
                "name": "accession",
                "type": "token",
                "paths": ["identifier[system=http://hospital-a/accession]"],
            },
            {
                "resource": "ImagingStudy",
                "name": "description",
                "type": "string",
                "paths": ["description", "series.description"],
            },
        ]  # fmt: skip
    )
    study = {
        "resourceType": "ImagingStudy",
        "description": "TC Abdómen",
        "identifier": [
            {"system": "urn:dicom:uid", "value": "urn:oid:1.2.3"},
            {"system": "http://hospital-a/accession", "value": "ACC-1"},
        ],
        "series": [{"description": "Axial"}],
    }
    rows = rows_of(registry, study)
    assert of(rows.tokens, "accession") == [("http://hospital-a/accession", "ACC-1")]
    assert of(rows.strings, "description") == [("tc abdomen", "TC Abdómen"), ("axial", "Axial")]


def test_the_briefs_imaging_study(registry: SearchRegistry) -> None:
    study = {
        "resourceType": "ImagingStudy",
        "id": "study-20250315-001",
        "status": "available",
        "subject": {"reference": "Patient/1234567890"},
        "started": "2025-03-15T12:05:00+01:00",
        "numberOfSeries": 3,
        "numberOfInstances": 512,
        "modality": [{"code": "CT"}],
        "identifier": [{"system": "urn:dicom:uid", "value": "urn:oid:1.2.3.4.5.6.7"}],
        "series": [
            {
                "uid": "1.2.3.4.5.6.8",
                "modality": {"code": "CT"},
                "numberOfInstances": 512,
                "endpoint": [{"reference": "Endpoint/wado-rs"}],
            }
        ],
    }
    rows = rows_of(registry, study)
    assert of(rows.tokens, "identifier") == [("urn:dicom:uid", "urn:oid:1.2.3.4.5.6.7")]
    assert of(rows.tokens, "status") == [(None, "available")]
    assert of(rows.tokens, "modality") == [(None, "CT")]
    assert of(rows.tokens, "series") == [(None, "1.2.3.4.5.6.8")]
    assert of(rows.tokens, "_id") == [(None, "study-20250315-001")]
    assert of(rows.references, "patient") == [("Patient", "1234567890", None)]
    assert of(rows.references, "endpoint") == [("Endpoint", "wado-rs", None)]
    assert of(rows.dates, "started") == [
        (datetime(2025, 3, 15, 11, 5), datetime(2025, 3, 15, 11, 5, 0, 999999))
    ]
    assert of(rows.numbers, "number-of-instances") == [(Decimal(512),)]


def test_empty_resource_gives_no_rows(registry: SearchRegistry) -> None:
    rows = rows_of(registry, {"resourceType": "Patient"})
    assert rows == IndexRows()
