"""Addresses such as "PID.3.1" as values: parse, print back, refuse what is no address."""

from __future__ import annotations

import pytest

from pacsbridge.formats.hl7v2 import Address


@pytest.mark.parametrize(
    "text",
    [
        "PID.3",
        "PID.3.1",
        "PID.3.1.2",
        "PID.3[2].1",
        "OBX[2].5",
        "OBX[2].5[3].1.1",
        "ZDS.1",
        "MSH.9.2",
    ],
)
def test_an_address_prints_back_as_written(text):
    assert str(Address.parse(text)) == text


def test_parts_are_numbers_and_absent_parts_are_none():
    address = Address.parse("OBX[2].5[3].4.1")
    assert (address.segment, address.occurrence, address.field) == ("OBX", 2, 5)
    assert (address.repetition, address.component, address.subcomponent) == (3, 4, 1)
    plain = Address.parse("OBR.18")
    assert (plain.component, plain.subcomponent, plain.repetition, plain.occurrence) == (
        None,
        None,
        None,
        None,
    )


def test_the_standard_dash_is_accepted_and_printed_as_a_dot():
    assert Address.parse("PID-3.1") == Address.parse("PID.3.1")
    assert str(Address.parse("PID-3.1")) == "PID.3.1"


def test_addresses_are_values():
    assert Address.parse("OBR.3") == Address("OBR", 3)
    assert len({Address.parse("OBR.3"), Address("OBR", 3)}) == 1


@pytest.mark.parametrize(
    "text", ["", "PID", "pid.3", "PID.0", "PID.3.0", "PID[0].3", "PID.x", "PI.3", "PID.3.1.2.3", 3]
)
def test_what_is_no_address_is_a_value_error(text):
    with pytest.raises(ValueError):
        Address.parse(text)
