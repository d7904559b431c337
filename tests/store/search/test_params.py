"""Tests of the search parameter data and its registry."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from pacsbridge.store.search.params import (
    COMMON,
    SearchParam,
    SearchRegistry,
    Step,
    load_registry,
    param_from_entry,
    parse_path,
)

# The parameters the brief asks for, per resource type (FHIR R4 names).
REQUIRED = {
    "Resource": "_id _lastUpdated _tag _security _profile",
    "Patient": "identifier family given name birthdate gender address address-city "
    "address-postalcode address-country telecom phone email active general-practitioner "
    "organization link",
    "ServiceRequest": "identifier patient subject status intent authored code category priority "
    "requisition occurrence requester performer based-on encounter specimen",
    "Appointment": "identifier date patient practitioner actor status based-on service-type "
    "service-category specialty appointment-type reason-code",
    "ImagingStudy": "identifier patient subject started modality basedon status endpoint series "
    "instance dicom-class bodysite referrer interpreter encounter reason number-of-series "
    "number-of-instances",
    "DiagnosticReport": "identifier patient subject status date issued based-on category code "
    "result performer results-interpreter conclusion encounter media",
    "Procedure": "identifier patient subject status code date based-on part-of performer "
    "encounter category",
    "Practitioner": "identifier name family given active telecom phone email address",
    "Organization": "identifier name type active partof address",
    "Endpoint": "identifier name status connection-type organization payload-type",
}


@pytest.fixture(scope="module")
def registry() -> SearchRegistry:
    return load_registry()


@pytest.mark.parametrize("resource_type", sorted(REQUIRED))
def test_params_json_has_the_r4_parameters(registry: SearchRegistry, resource_type: str) -> None:
    names = {p.name for p in registry if p.resource == resource_type}
    assert set(REQUIRED[resource_type].split()) <= names


def test_types_of_well_known_parameters(registry: SearchRegistry) -> None:
    expected = {
        ("Patient", "birthdate"): ("date", ("birthDate",)),
        ("Patient", "phone"): ("token", ("telecom[system=phone]",)),
        ("ServiceRequest", "occurrence"): (
            "date",
            ("occurrenceDateTime", "occurrencePeriod", "occurrenceTiming"),
        ),
        ("Appointment", "date"): ("date", ("start",)),
        ("Appointment", "actor"): ("reference", ("participant.actor",)),
        ("ImagingStudy", "series"): ("token", ("series.uid",)),
        ("ImagingStudy", "instance"): ("token", ("series.instance.uid",)),
        ("ImagingStudy", "modality"): ("token", ("series.modality",)),
        ("ImagingStudy", "number-of-series"): ("number", ("numberOfSeries",)),
        ("Resource", "_profile"): ("uri", ("meta.profile",)),
    }
    for (resource_type, name), (kind, paths) in expected.items():
        param = registry.get(resource_type, name)
        assert param is not None, name
        assert (param.type, param.paths) == (kind, paths)


def test_patient_params_target_only_patient(registry: SearchRegistry) -> None:
    for resource_type in ("ServiceRequest", "ImagingStudy", "DiagnosticReport", "Procedure"):
        param = registry.get(resource_type, "patient")
        assert param is not None
        assert param.paths == ("subject",) and param.targets == ("Patient",)


def test_get_falls_back_to_common_params(registry: SearchRegistry) -> None:
    param = registry.get("ImagingStudy", "_id")
    assert param is not None and param.resource == COMMON and param.paths == ("id",)
    assert registry.get("ImagingStudy", "no-such-param") is None
    assert registry.get("Patient", "started") is None  # another type's parameter


def test_for_resource_lists_own_then_common_params(registry: SearchRegistry) -> None:
    params = registry.for_resource("Endpoint")
    names = [p.name for p in params]
    assert names[:6] == [
        "identifier",
        "name",
        "status",
        "connection-type",
        "organization",
        "payload-type",
    ]
    assert {"_id", "_lastUpdated", "_tag", "_security", "_profile"} <= set(names[6:])
    assert all(p.resource in ("Endpoint", COMMON) for p in params)


def test_for_resource_of_unknown_type_has_common_params_only(registry: SearchRegistry) -> None:
    assert {p.resource for p in registry.for_resource("Basic")} == {COMMON}


def test_for_resource_returns_a_copy(registry: SearchRegistry) -> None:
    registry.for_resource("Patient").clear()
    assert registry.for_resource("Patient")


def test_resource_types(registry: SearchRegistry) -> None:
    assert set(REQUIRED) - {COMMON} <= set(registry.resource_types())
    assert COMMON not in registry.resource_types()


def test_an_extra_entry_adds_a_parameter() -> None:
    extra = {
        "resource": "ImagingStudy",
        "name": "accession",
        "type": "token",
        "paths": ["identifier[system=http://hospital-a/accession]"],
        "description": "configured by a partner",
    }
    registry = load_registry([extra])
    param = registry.get("ImagingStudy", "accession")
    assert param is not None
    assert param.steps == ((Step("identifier", "system", "http://hospital-a/accession"),),)
    assert param in registry.for_resource("ImagingStudy")
    assert load_registry().get("ImagingStudy", "accession") is None  # data file untouched


def _entry(**changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": "Patient",
        "name": "x-test",
        "type": "string",
        "paths": ["name.text"],
    }
    entry.update(changes)
    return {k: v for k, v in entry.items() if v is not None}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_entry(type="text"), "unknown type 'text'"),
        (_entry(type="composite"), "unknown type"),
        (_entry(paths=[]), "paths"),
        (_entry(paths="name"), "paths"),
        (_entry(paths=["name..family"]), "bad path"),
        (_entry(paths=["name.family()"]), "bad path"),
        (_entry(name="has space"), "bad parameter name"),
        (_entry(resource="patient"), "bad resource type"),
        (_entry(targets=["Patient"]), "only a reference parameter has targets"),
        (_entry(type="reference", paths=["link"], targets=["patient"]), "bad targets"),
        (_entry(path=["name"]), "unknown keys ['path']"),
        (_entry(paths=None), "missing keys ['paths']"),
    ],
)
def test_bad_entries_are_refused_naming_the_entry(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="x-test|has space|patient") as caught:
        load_registry([entry])
    assert message in str(caught.value)


def test_a_duplicate_name_is_refused() -> None:
    entry = {"resource": "Patient", "name": "family", "type": "string", "paths": ["name.text"]}
    with pytest.raises(ValueError, match=r"duplicate search parameter Patient\.family"):
        load_registry([entry])


def test_redefining_a_common_name_is_refused() -> None:
    entry = {"resource": "Patient", "name": "_id", "type": "token", "paths": ["identifier"]}
    with pytest.raises(ValueError, match=r"Patient\._id"):
        load_registry([entry])


def test_registry_refuses_duplicates_built_directly() -> None:
    param = SearchParam("Patient", "family", "string", ("name.family",))
    with pytest.raises(ValueError, match="duplicate"):
        SearchRegistry([param, param])


def test_search_param_from_lists_is_hashable() -> None:
    param = param_from_entry(
        {
            "resource": "Patient",
            "name": "link",
            "type": "reference",
            "paths": ["link.other"],
            "targets": ["Patient"],
        }  # fmt: skip
    )
    assert param.paths == ("link.other",) and param.targets == ("Patient",)
    assert {param: 1}[SearchParam("Patient", "link", "reference", ["link.other"], ["Patient"])]


def test_parse_path() -> None:
    assert parse_path("series.instance.uid") == (
        Step("series"),
        Step("instance"),
        Step("uid"),
    )
    assert parse_path("telecom[system=phone]") == (Step("telecom", "system", "phone"),)


# --- every path of params.json exists in FHIR's own definitions (R4B = R4 here) ---


def _model_class(annotation: Any) -> Any:
    from fhir.resources.R4B import get_fhir_model_class

    stack = [annotation]
    while stack:
        item = stack.pop()
        name = getattr(item, "__name__", "")
        if name.endswith("Type") and getattr(item, "__module__", "") == "abc":
            return get_fhir_model_class(name[: -len("Type")])
        stack.extend(typing.get_args(item))
    return None


def test_every_path_and_target_exists_in_the_fhir_definitions(registry: SearchRegistry) -> None:
    pytest.importorskip("fhir.resources.R4B")
    from fhir.resources.R4B import get_fhir_model_class

    problems = []
    for param in registry:
        resource_type = "Patient" if param.resource == COMMON else param.resource
        for path, steps in zip(param.paths, param.steps, strict=True):
            model = get_fhir_model_class(resource_type)
            info = None
            for step in steps:
                info = model.model_fields.get(step.name) if model is not None else None
                if info is None:
                    problems.append(f"{param.resource}.{param.name}: no element {path}")
                    break
                model = _model_class(info.annotation)
            allowed = ((info.json_schema_extra or {}) if info else {}).get("enum_reference_types")
            if param.targets and allowed and "Resource" not in allowed:
                stray = set(param.targets) - set(allowed)
                if stray:
                    problems.append(f"{param.resource}.{param.name}: {path} cannot be {stray}")
    assert problems == []
