from __future__ import annotations

from collections.abc import Callable

import pytest

from pacsbridge.errors import InvalidContent, Issue
from pacsbridge.formats.fhir import validate
from tests.formats.fhir.conftest import SAMPLE_TYPES

SERVED = SAMPLE_TYPES
Samples = dict[str, Callable[..., dict]]


def issues_of(resource: object, **kwargs: object) -> list[Issue]:
    with pytest.raises(InvalidContent) as caught:
        validate(resource, **kwargs)  # type: ignore[arg-type]
    return caught.value.issues


def only_issue(resource: object, **kwargs: object) -> Issue:
    issues = issues_of(resource, **kwargs)
    assert len(issues) == 1, issues
    return issues[0]


def located(issue: Issue) -> tuple[str | None, str]:
    return issue.location, issue.code


@pytest.mark.parametrize("name", [*SERVED, "OperationOutcome", "CapabilityStatement", "Bundle"])
def test_good_resources_pass(samples: Samples, name: str) -> None:
    validate(samples[name]())


def test_accepted_types(samples: Samples) -> None:
    validate(samples["Patient"](), resource_types=frozenset({"Patient"}))
    issue = only_issue(samples["Patient"](), resource_types=frozenset({"ServiceRequest"}))
    assert located(issue) == ("resourceType", "not-supported")


# --- the resource itself ---


@pytest.mark.parametrize("value", [[], "Patient", None, 42])
def test_not_an_object(value: object) -> None:
    assert only_issue(value).code == "structure"


def test_missing_resource_type(samples: Samples) -> None:
    patient = samples["Patient"]()
    del patient["resourceType"]
    assert located(only_issue(patient)) == ("resourceType", "required")


@pytest.mark.parametrize("name", ["Foo", "patient", "DomainResource", "Address", 7])
def test_unknown_resource_type(name: object) -> None:
    assert located(only_issue({"resourceType": name})) == ("resourceType", "structure")


# --- shape ---


def test_unknown_elements(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["foo"] = 1
    patient["name"][0]["nickname"] = "J"
    patient["_name"] = {"extension": []}
    issues = issues_of(patient)
    assert [located(i) for i in issues] == [
        ("Patient.name[0].nickname", "structure"),
        ("Patient.foo", "structure"),
        ("Patient._name", "structure"),
    ]


def test_resource_type_only_on_resources(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["name"][0]["resourceType"] = "HumanName"
    assert located(only_issue(patient)) == ("Patient.name[0].resourceType", "structure")


def test_array_where_single_expected(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["gender"] = ["female"]
    patient["maritalStatus"] = [{"text": "married"}]
    assert [located(i) for i in issues_of(patient)] == [
        ("Patient.gender", "structure"),
        ("Patient.maritalStatus", "structure"),
    ]


def test_single_where_array_expected(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["name"] = {"family": "Doe"}
    patient["address"][0]["line"] = "Main Street 1"
    assert [located(i) for i in issues_of(patient)] == [
        ("Patient.name", "structure"),
        ("Patient.address[0].line", "structure"),
    ]


def test_object_expected(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["maritalStatus"] = "married"
    assert located(only_issue(patient)) == ("Patient.maritalStatus", "structure")


@pytest.mark.parametrize(
    ("change", "location", "code"),
    [
        (lambda p: p.update(gender=None), "Patient.gender", "structure"),
        (lambda p: p.update(maritalStatus={}), "Patient.maritalStatus", "structure"),
        (lambda p: p.update(name=[]), "Patient.name", "structure"),
        (lambda p: p.update(gender=""), "Patient.gender", "value"),
        (lambda p: p["name"].append(None), "Patient.name[1]", "structure"),
        (lambda p: p["name"].append({}), "Patient.name[1]", "structure"),
        (lambda p: p["name"][0]["given"].append(None), "Patient.name[0].given[2]", "structure"),
        (lambda p: p["name"][0]["given"].append(""), "Patient.name[0].given[2]", "value"),
        (lambda p: p["name"][0].update(id="n1"), None, None),  # fine with other content
        (lambda p: p.update(maritalStatus={"id": "m1"}), "Patient.maritalStatus", "invariant"),
    ],
)
def test_empty_and_null(
    samples: Samples, change: Callable[[dict], None], location: str | None, code: str | None
) -> None:
    patient = samples["Patient"]()
    change(patient)
    if location is None:
        validate(patient)
    else:
        assert located(only_issue(patient)) == (location, code)


# --- cardinality and choices ---


@pytest.mark.parametrize(
    ("name", "element", "location"),
    [
        ("ServiceRequest", "status", "ServiceRequest.status"),
        ("ServiceRequest", "intent", "ServiceRequest.intent"),
        ("ServiceRequest", "subject", "ServiceRequest.subject"),
        ("ImagingStudy", "subject", "ImagingStudy.subject"),
        ("DiagnosticReport", "code", "DiagnosticReport.code"),
        ("Appointment", "participant", "Appointment.participant"),
    ],
)
def test_required_missing(samples: Samples, name: str, element: str, location: str) -> None:
    resource = samples[name]()
    del resource[element]
    assert located(only_issue(resource)) == (location, "required")


def test_required_missing_in_backbone_and_datatype(samples: Samples) -> None:
    study = samples["ImagingStudy"]()
    del study["series"][1]["uid"]
    del study["series"][0]["instance"][1]["sopClass"]
    study["extension"] = [{"valueString": "no url"}]
    assert [located(i) for i in issues_of(study)] == [
        ("ImagingStudy.series[0].instance[1].sopClass", "required"),
        ("ImagingStudy.series[1].uid", "required"),
        ("ImagingStudy.extension[0].url", "required"),
    ]


def test_required_primitive_may_be_only_extended(samples: Samples) -> None:
    request = samples["ServiceRequest"]()
    del request["status"]
    absent = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
    request["_status"] = {"extension": [{"url": absent, "valueCode": "unknown"}]}
    validate(request)


def test_required_choice(samples: Samples) -> None:
    statement = samples["CapabilityStatement"]()
    coding = {"system": "http://terminology.hl7.org/CodeSystem/usage-context-type", "code": "task"}
    statement["useContext"] = [{"code": coding}]
    issue = only_issue(statement)
    assert located(issue) == ("CapabilityStatement.useContext[0].value[x]", "required")


def test_one_choice_at_most(samples: Samples) -> None:
    request = samples["ServiceRequest"]()
    request["occurrencePeriod"] = {"start": "2024-05-02"}
    issue = only_issue(request)
    assert located(issue) == ("ServiceRequest.occurrencePeriod", "structure")
    assert "occurrence[x]" in issue.text


# --- primitive values ---


def _set(path: str, value: object) -> Callable[[dict], None]:
    """A change that sets the element at a dotted path with [index] steps."""

    def change(resource: dict) -> None:
        target: object = resource
        steps = path.split(".")
        for step in steps[:-1]:
            name, _, index = step.partition("[")
            target = target[name]  # type: ignore[index]
            if index:
                target = target[int(index[:-1])]  # type: ignore[index]
        target[steps[-1]] = value  # type: ignore[index]

    return change


BAD_VALUES = [
    ("Patient", "id", "pat 1"),
    ("Patient", "id", "x" * 65),
    ("Patient", "active", "true"),
    ("Patient", "active", 1),
    ("Patient", "birthDate", "1974-13-01"),
    ("Patient", "birthDate", "1974-02-29"),  # not a leap year
    ("Patient", "birthDate", "1974-12-25T10:00:00Z"),
    ("Patient", "birthDate", 1974),
    ("Patient", "language", "en  US"),
    ("Patient", "language", " en"),
    ("Patient", "implicitRules", "http://example.org/a rule"),
    ("Patient", "multipleBirthInteger", 1.5),
    ("Patient", "multipleBirthInteger", True),
    ("Patient", "multipleBirthInteger", 2**31),
    ("Patient", "text.div", "hello"),
    ("Patient", "name[0].family", 42),
    ("ServiceRequest", "occurrenceDateTime", "2024-05-02T09:00"),
    ("ServiceRequest", "occurrenceDateTime", "2024-05-02T09:00:00"),  # no zone
    ("ServiceRequest", "occurrenceDateTime", "2024-05-02T24:00:00Z"),
    ("ServiceRequest", "quantityQuantity.value", "1.5"),
    ("ServiceRequest", "quantityQuantity.value", float("nan")),
    ("ServiceRequest", "instantiatesCanonical", ["http://example.org/plan 1"]),
    ("ServiceRequest", "note[0].text", ""),
    ("Appointment", "start", "2024-05-02"),
    ("Appointment", "start", "2024-05-02T09:00:00"),
    ("Appointment", "minutesDuration", 0),
    ("ImagingStudy", "numberOfSeries", -1),
    ("ImagingStudy", "series[0].uid", "1.2.3_4"),
    ("DiagnosticReport", "presentedForm[0].data", "not base64!"),
    ("DiagnosticReport", "presentedForm[0].data", "abc"),
    ("Endpoint", "address", "https://pacs.example.org/dicom web"),
]


@pytest.mark.parametrize(("name", "path", "value"), BAD_VALUES)
def test_bad_primitive_values(samples: Samples, name: str, path: str, value: object) -> None:
    resource = samples[name]()
    _set(path, value)(resource)
    issue = only_issue(resource)
    location = f"{name}.{path}"
    if isinstance(value, list):
        location += "[0]"
    assert located(issue) == (location, "value")


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("Patient", "birthDate", "1974"),
        ("Patient", "birthDate", "1974-12"),
        ("Patient", "birthDate", "2000-02-29"),
        ("Patient", "deceasedDateTime", "2024-05-02T09:00:00.123456+14:00"),
        ("Patient", "deceasedDateTime", "2016-12-31T23:59:60Z"),  # leap second
        ("ServiceRequest", "quantityQuantity.value", 2),
        ("ServiceRequest", "quantityQuantity.value", -0.001),
        ("ImagingStudy", "numberOfSeries", 0),
        ("DiagnosticReport", "presentedForm[0].data", "Tm8g\nYWN1dGU/"),
        ("Patient", "language", "de-CH"),
    ],
)
def test_good_primitive_values(samples: Samples, name: str, path: str, value: object) -> None:
    resource = samples[name]()
    _set(path, value)(resource)
    validate(resource)


def test_extension_value_types(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["extension"] = [
        {
            "url": "http://example.org/a",
            "valueUuid": "urn:uuid:0a6f1b7c-3f0e-4d38-9b56-2c1d7f4e9a11",
        },
        {"url": "http://example.org/b", "valueOid": "urn:oid:1.2.3"},
        {"url": "http://example.org/c", "valueTime": "10:30:00"},
        {"url": "http://example.org/d", "valueUuid": "0a6f1b7c-3f0e-4d38-9b56-2c1d7f4e9a11"},
        {"url": "http://example.org/e", "valueOid": "urn:oid:1.02"},
        {"url": "http://example.org/f", "valueTime": "25:00:00"},
        {"url": "http://example.org/g", "valueMarkdown": ""},
    ]
    assert [located(i) for i in issues_of(patient)] == [
        (f"Patient.extension[{n}].value{t}", "value")
        for n, t in [(3, "Uuid"), (4, "Oid"), (5, "Time"), (6, "Markdown")]
    ]


def test_string_length_limit(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["name"][0]["family"] = "x" * (1024 * 1024 + 1)
    assert located(only_issue(patient)) == ("Patient.name[0].family", "value")


# --- required bindings ---


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("Patient", "gender", "woman"),
        ("Patient", "name[0].use", "formal"),
        ("ServiceRequest", "status", "ordered"),
        ("ServiceRequest", "intent", "request"),
        ("ImagingStudy", "status", "final"),
        ("DiagnosticReport", "status", "done"),
        ("Appointment", "status", "confirmed"),
        ("Endpoint", "status", "on"),
        ("Procedure", "status", "done"),
    ],
)
def test_codes_of_required_bindings(samples: Samples, name: str, path: str, value: str) -> None:
    resource = samples[name]()
    _set(path, value)(resource)
    issue = only_issue(resource)
    assert located(issue) == (f"{name}.{path}", "code-invalid")
    assert value in issue.text


def test_hierarchical_codes_are_complete(samples: Samples) -> None:
    report = samples["DiagnosticReport"]()
    for status in ("amended", "corrected", "appended", "cancelled", "entered-in-error"):
        report["status"] = status
        validate(report)


def test_unbound_codes_are_free(samples: Samples) -> None:
    statement = samples["CapabilityStatement"]()
    statement["format"] = ["application/fhir+json", "json"]
    validate(statement)


# --- references ---


@pytest.mark.parametrize(
    "reference",
    [
        "Patient/pat-1",
        "Patient/pat-1/_history/2",
        "Group/g1",
        "http://other.example.org/fhir/Patient/7",
        "https://example.org/some/thing",
        "urn:uuid:0a6f1b7c-3f0e-4d38-9b56-2c1d7f4e9a11",
        "urn:oid:1.2.3.4",
        "#contained-1",
        "Patient?identifier=urn:example|123",
    ],
)
def test_good_references(samples: Samples, reference: str) -> None:
    request = samples["ServiceRequest"]()
    request["subject"] = {"reference": reference}
    validate(request)


@pytest.mark.parametrize(
    "reference",
    [
        "Organization/org-1",
        "http://other.example.org/fhir/Practitioner/7",
        "Patient/pat 1",
        "Patient",
        "patient/1",
        "Foo/1",
        "Patient/" + "x" * 65,
        "#bad id",
        "urn:uuid:not-a-uuid",
        "https://example.org/a b",
    ],
)
def test_bad_references(samples: Samples, reference: str) -> None:
    request = samples["ServiceRequest"]()
    request["subject"] = {"reference": reference}
    assert located(only_issue(request)) == ("ServiceRequest.subject.reference", "value")


def test_reference_to_any_resource(samples: Samples) -> None:
    request = samples["ServiceRequest"]()
    request["supportingInfo"] = [{"reference": "Organization/org-1"}]  # Reference(Any)
    validate(request)


def test_reference_target_in_backbone(samples: Samples) -> None:
    appointment = samples["Appointment"]()
    appointment["participant"][0]["actor"] = {"reference": "Endpoint/ep-1"}
    issue = only_issue(appointment)
    assert located(issue) == ("Appointment.participant[0].actor.reference", "value")
    assert "Endpoint" in issue.text


# --- primitive extensions ---


def test_primitive_extension_sibling(samples: Samples) -> None:
    patient = samples["Patient"]()
    birth_time = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
    patient["_birthDate"] = {
        "id": "bd",
        "extension": [{"url": birth_time, "valueDateTime": "1974-12-25T14:35:45-05:00"}],
    }
    patient["name"][0]["given"] = ["Jane", None, "Q"]
    patient["name"][0]["_given"] = [
        None,
        {"extension": [{"url": "http://x", "valueCode": "a"}]},
        None,
    ]
    validate(patient)


@pytest.mark.parametrize(
    ("change", "location"),
    [
        (lambda p: p.update(_birthDate=[{"id": "a"}]), "Patient.birthDate"),
        (lambda p: p.update(_birthDate={}), "Patient.birthDate"),
        (lambda p: p.update(_birthDate="x"), "Patient.birthDate"),
        (lambda p: p.update(_birthDate={"value": "1974"}), "Patient.birthDate.value"),
        (lambda p: p["name"][0].update(_given={"id": "a"}), "Patient.name[0].given"),
        (lambda p: p["name"][0].update(_given=[None]), "Patient.name[0].given"),
        (lambda p: p["name"][0].update(given=None, _given=[None]), "Patient.name[0].given"),
        (lambda p: p["name"][0].update(_id={"id": "a"}), "Patient.name[0]._id"),
        (lambda p: p.update(_maritalStatus={"id": "a"}), "Patient._maritalStatus"),
    ],
)
def test_bad_primitive_extension(
    samples: Samples, change: Callable[[dict], None], location: str
) -> None:
    patient = samples["Patient"]()
    change(patient)
    issues = issues_of(patient)
    assert issues[0].location == location
    assert {i.code for i in issues} == {"structure"}


def test_extension_without_value_array(samples: Samples) -> None:
    patient = samples["Patient"]()
    del patient["name"][0]["given"]
    patient["name"][0]["_given"] = [{"extension": [{"url": "http://x", "valueString": "y"}]}]
    validate(patient)


def test_bad_extension_inside_sibling(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["_gender"] = {"extension": [{"url": "http://x", "valueInteger": "1"}]}
    assert located(only_issue(patient)) == ("Patient.gender.extension[0].valueInteger", "value")


def test_extension_value_or_children(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["extension"] = [
        {"url": "http://x", "valueString": "a", "extension": [{"url": "y", "valueString": "b"}]},
        {"url": "http://x"},
    ]
    assert [located(i) for i in issues_of(patient)] == [
        ("Patient.extension[0]", "invariant"),
        ("Patient.extension[1]", "invariant"),
    ]


# --- contained and bundled resources ---


def test_contained_resources_are_validated(samples: Samples) -> None:
    patient = samples["Patient"]()
    doctor = samples["Practitioner"]()
    doctor["gender"] = "doctor"
    doctor["name"][0]["foo"] = 1
    patient["contained"] = [doctor, {"id": "x"}]
    assert [located(i) for i in issues_of(patient)] == [
        ("Patient.contained[0].name[0].foo", "structure"),
        ("Patient.contained[0].gender", "code-invalid"),
        ("Patient.contained[1].resourceType", "required"),
    ]


def test_contained_must_not_contain(samples: Samples) -> None:
    patient = samples["Patient"]()
    doctor = samples["Practitioner"]()
    doctor["contained"] = [samples["Organization"]()]
    patient["contained"] = [doctor]
    assert located(only_issue(patient)) == ("Patient.contained[0]", "invariant")


def test_contained_type_is_not_restricted(samples: Samples) -> None:
    patient = samples["Patient"]()
    patient["contained"] = [{"resourceType": "Basic", "id": "b", "code": {"text": "x"}}]
    validate(patient, resource_types=frozenset({"Patient"}))


def test_bundle_entries_are_validated(samples: Samples) -> None:
    bundle = samples["Bundle"](2)
    bundle["entry"][1]["resource"]["gender"] = "x"
    bundle["entry"][2]["resource"]["issue"][0]["code"] = "bogus"
    bundle["entry"][0]["search"]["mode"] = "matched"
    assert [located(i) for i in issues_of(bundle)] == [
        ("Bundle.entry[0].search.mode", "code-invalid"),
        ("Bundle.entry[1].resource.gender", "code-invalid"),
        ("Bundle.entry[2].resource.issue[0].code", "code-invalid"),
    ]


def test_all_issues_are_reported(samples: Samples) -> None:
    request = samples["ServiceRequest"]()
    del request["status"]
    request["intent"] = "wish"
    request["subject"] = {"reference": "Location/1 2"}
    request["priority"] = ["stat"]
    with pytest.raises(InvalidContent) as caught:
        validate(request)
    error = caught.value
    assert {(i.location, i.code) for i in error.issues} == {
        ("ServiceRequest.status", "required"),
        ("ServiceRequest.intent", "code-invalid"),
        ("ServiceRequest.subject.reference", "value"),
        ("ServiceRequest.priority", "structure"),
    }
    assert error.location == error.issues[0].location


def test_deep_nesting_is_an_issue_not_a_crash(samples: Samples) -> None:
    patient = samples["Patient"]()
    extension: dict = {"url": "http://x", "valueString": "leaf"}
    for _ in range(5000):
        extension = {"url": "http://x", "extension": [extension]}
    patient["extension"] = [extension]
    assert only_issue(patient).code == "too-costly"
