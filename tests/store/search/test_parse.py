"""Search syntax parsing: values, prefixes, modifiers, chains, includes, result parameters."""

from __future__ import annotations

import pytest

from pacsbridge.errors import BadValue, Unsupported
from pacsbridge.store.search.params import load_registry
from pacsbridge.store.search.parse import parse_search, split_values

REGISTRY = load_registry()


def parse(resource_type: str, query: list[tuple[str, str]]):
    return parse_search(resource_type, query, REGISTRY, default_count=20, max_count=100)


def test_commas_or_values_and_escapes_keep_literal_commas():
    assert split_values(r"a,b\,c,d\\") == ["a", "b,c", "d\\"]
    request = parse("Patient", [("family", r"Smith,O\,Neil")])
    assert [v.text for v in request.criteria[0].values] == ["Smith", "O,Neil"]


def test_date_prefixes_are_split_off_but_not_from_strings():
    request = parse("Patient", [("birthdate", "ge1970"), ("family", "gerard")])
    date, family = request.criteria
    assert (date.values[0].prefix, date.values[0].text) == ("ge", "1970")
    assert (family.values[0].prefix, family.values[0].text) == ("eq", "gerard")


def test_chains_follow_the_single_target_or_the_named_type():
    request = parse("ServiceRequest", [("patient.identifier", "urn:x|1")])
    chain = request.criteria[0].chain
    assert chain is not None and chain.target_type == "Patient"
    assert chain.criterion.param.name == "identifier"
    typed = parse("ServiceRequest", [("subject:Patient.name", "x")]).criteria[0].chain
    assert typed is not None and typed.target_type == "Patient"
    with pytest.raises(BadValue):
        parse("ServiceRequest", [("subject.name", "x")])  # several possible targets


def test_result_parameters():
    request = parse("Patient", [("_count", "500"), ("_sort", "-birthdate,family"),
                                ("_include", "Patient:organization"),
                                ("_revinclude:iterate", "ImagingStudy:patient"),
                                ("_summary", "count"), ("_total", "accurate")])  # fmt: skip
    assert request.count == 100  # capped at max_count
    assert [(k.param.name, k.descending) for k in request.sort] == [
        ("birthdate", True), ("family", False)]  # fmt: skip
    assert request.includes[0].param == "organization" and not request.includes[0].iterate
    assert request.revincludes[0].iterate
    assert (request.summary, request.total) == ("count", "accurate")


def test_unknown_parameters_are_collected_and_unsupported_ones_refused():
    assert parse("Patient", [("shoe-size", "42")]).unknown == ["shoe-size"]
    with pytest.raises(Unsupported):
        parse("Patient", [("_has", "Observation:patient:code=x")])
    with pytest.raises(BadValue):
        parse("Patient", [("gender:sounds-like", "male")])
    with pytest.raises(BadValue):
        parse("Patient", [("active:missing", "maybe")])


def test_an_extra_parameter_is_one_entry_of_data():
    registry = load_registry([{"resource": "Patient", "name": "marital", "type": "token",
                               "paths": ["maritalStatus"]}])  # fmt: skip
    request = parse_search("Patient", [("marital", "M")], registry)
    assert request.criteria[0].param.paths == ("maritalStatus",)
