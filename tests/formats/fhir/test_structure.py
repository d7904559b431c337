from __future__ import annotations

import pytest

from pacsbridge.formats.fhir import structure
from pacsbridge.formats.fhir.structure import (
    PRIMITIVE_TYPES,
    is_attribute,
    is_resource_type,
    resource_types,
    type_definition,
)
from tests.formats.fhir.conftest import SAMPLE_TYPES

OURS = {*SAMPLE_TYPES, "Bundle", "OperationOutcome", "CapabilityStatement", "Parameters"}


def test_resource_types_cover_r4b() -> None:
    types = resource_types()
    assert types >= OURS
    assert len(types) >= 140
    assert not {"Resource", "DomainResource", "Address", "ImagingStudySeries"} & types


@pytest.mark.parametrize("name", sorted(OURS))
def test_is_resource_type(name: str) -> None:
    assert is_resource_type(name)


@pytest.mark.parametrize(
    "name", ["", "Foo", "patient", "Resource", "DomainResource", "Address", "BundleEntry"]
)
def test_is_not_resource_type(name: str) -> None:
    assert not is_resource_type(name)


def test_elements_in_definition_order() -> None:
    names = list(type_definition("ServiceRequest").elements)
    assert names[:9] == [
        "id",
        "meta",
        "implicitRules",
        "language",
        "text",
        "contained",
        "extension",
        "modifierExtension",
        "identifier",
    ]
    assert names.index("status") < names.index("intent") < names.index("subject")
    assert names.index("occurrenceDateTime") < names.index("occurrencePeriod")


def test_element_details() -> None:
    request = type_definition("ServiceRequest")
    assert request.kind == "resource"
    status = request.elements["status"]
    assert (status.type, status.required, status.summary, status.primitive) == (
        "code",
        True,
        True,
        True,
    )
    assert status.codes is not None and "active" in status.codes
    subject = request.elements["subject"]
    assert subject.type == "Reference" and subject.required and not subject.is_list
    assert subject.targets is not None and "Patient" in subject.targets
    occurrence = request.elements["occurrenceDateTime"]
    assert (occurrence.type, occurrence.choice, occurrence.required) == (
        "dateTime",
        "occurrence",
        False,
    )
    assert request.choices["occurrence"] == (
        "occurrenceDateTime",
        "occurrencePeriod",
        "occurrenceTiming",
    )
    contained = request.elements["contained"]
    assert (contained.type, contained.is_list, contained.primitive) == ("Resource", True, False)
    assert request.elements["id"].type == "id"
    assert request.elements["instantiatesCanonical"].type == "canonical"


def test_backbone_and_datatypes() -> None:
    series = type_definition("ImagingStudySeries")
    assert series.kind == "backbone"
    assert series.elements["uid"].type == "id" and series.elements["uid"].required
    assert series.elements["number"].type == "unsignedInt"
    instance = series.elements["instance"]
    assert (instance.type, instance.is_list) == ("ImagingStudySeriesInstance", True)
    assert series.elements["id"].type == "string"  # Element.id is a plain string

    assert type_definition("Timing").kind == "datatype"
    assert type_definition("BundleEntry").elements["resource"].type == "Resource"
    assert type_definition("BundleEntryResponse").elements["outcome"].type == "Resource"
    assert type_definition("ParametersParameter").elements["resource"].type == "Resource"
    narrative = type_definition("Narrative")
    assert narrative.elements["div"].type == "xhtml" and narrative.elements["div"].required
    url = type_definition("Extension").elements["url"]
    assert (url.type, url.required) == ("uri", True)
    assert type_definition("Extension").elements["valueUuid"].type == "uuid"
    assert type_definition("Attachment").elements["data"].type == "base64Binary"
    assert type_definition("Endpoint").elements["address"].type == "url"
    assert type_definition("Quantity").elements["value"].type == "decimal"
    assert type_definition("Encounter").elements["class"].type == "Coding"  # class_fhir


def test_required_choice_marks_every_alternative() -> None:
    usage = type_definition("UsageContext")
    alternatives = [e for e in usage.elements.values() if e.choice == "value"]
    assert len(alternatives) == 4 and all(e.required for e in alternatives)


def test_code_overrides() -> None:
    report_status = type_definition("DiagnosticReport").elements["status"].codes
    assert report_status is not None and {"amended", "corrected", "cancelled"} <= set(report_status)
    assert type_definition("CapabilityStatement").elements["format"].codes is None
    issue_code = type_definition("OperationOutcomeIssue").elements["code"].codes
    assert issue_code is not None and "not-supported" in issue_code


def test_unknown_type_names() -> None:
    for name in ("string", "Foo", "FHIRPrimitiveExtension"):
        with pytest.raises(KeyError):
            type_definition(name)


def test_attributes() -> None:
    assert is_attribute(type_definition("HumanName"), "id")
    assert not is_attribute(type_definition("Patient"), "id")
    assert is_attribute(type_definition("Extension"), "url")
    assert not is_attribute(type_definition("Coding"), "system")


def test_every_reachable_type_resolves() -> None:
    """The whole R4B graph: every element type is a primitive, Resource or a known type."""
    seen: set[str] = set()
    todo = sorted(resource_types())
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        definition = type_definition(name)
        assert "id" in definition.elements, name
        for element in definition.elements.values():
            assert element.primitive == (element.type in PRIMITIVE_TYPES)
            assert element.codes is None or "+" not in element.codes, (name, element.name)
            if not element.primitive and element.type != "Resource":
                todo.append(element.type)
    assert {"Reference", "CodeableConcept", "Extension", "Meta", "Narrative"} <= seen
    assert len(seen) > 600


def test_cached() -> None:
    assert type_definition("Patient") is type_definition("Patient")
    assert structure.resource_types() is structure.resource_types()
