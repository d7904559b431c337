"""Addresses of values inside an HL7 v2 message, such as ``"PID.3.1"`` or ``"OBX[2].5"``.

An address names a segment, optionally its occurrence, a field, optionally a repetition, and
optionally a component and subcomponent, numbered from 1 as HL7 v2.5.1 ch. 2 numbers them
(2.5: fields by sequence number, "PID-3"; components and subcomponents by position). Per-sender
profiles hold addresses as text (``accession = "OBR.3"``), so an address is a value object that
parses, compares and prints back.

Syntax: ``SEG[occurrence].field[repetition].component.subcomponent``; brackets and the last
two parts are optional, and ``-`` may stand for the first ``.`` as in the standard's "PID-3.1".

This is the notation of HAPI's Terser and of the HL7 tables, and it departs on purpose from
python-hl7's accessor keys: there ``PID.3.1`` means field 3, *repetition* 1, whereas here the
second number is always a component and a repetition is written in brackets (``PID.3[2].1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_SYNTAX = re.compile(
    r"(?P<segment>[A-Z][A-Z0-9]{2})(?:\[(?P<occurrence>\d+)\])?"
    r"[.-](?P<field>\d+)(?:\[(?P<repetition>\d+)\])?"
    r"(?:\.(?P<component>\d+)(?:\.(?P<subcomponent>\d+))?)?"
)


@dataclass(frozen=True, slots=True)
class Address:
    """Where a value lives; parts left out (``None``) read as 1 and print as absent."""

    segment: str
    field: int
    component: int | None = None
    subcomponent: int | None = None
    repetition: int | None = None
    occurrence: int | None = None

    @classmethod
    def parse(cls, text: str) -> Address:
        """Read ``"OBR.18"``, ``"PID.3[2].4"``, ``"OBX[2].5.1"``; ``ValueError`` otherwise."""
        return _parse(text)

    def __str__(self) -> str:
        text = self.segment
        if self.occurrence is not None:
            text += f"[{self.occurrence}]"
        text += f".{self.field}"
        if self.repetition is not None:
            text += f"[{self.repetition}]"
        if self.component is not None:
            text += f".{self.component}"
            if self.subcomponent is not None:
                text += f".{self.subcomponent}"
        return text


@lru_cache(maxsize=4096)
def _parse(text: str) -> Address:
    match = _SYNTAX.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(
            f"{text!r} is not an HL7 address: write SEG.field[.component[.subcomponent]], "
            'e.g. "PID.3.1", "OBR.18", "PID.3[2].1" (repetition) or "OBX[2].5" (occurrence)'
        )
    parts = match.groupdict()
    numbers = {
        key: int(value) for key, value in parts.items() if key != "segment" and value is not None
    }
    if any(number < 1 for number in numbers.values()):
        raise ValueError(f"{text!r}: HL7 numbers fields, components and repetitions from 1")
    return Address(
        segment=parts["segment"],
        field=numbers["field"],
        component=numbers.get("component"),
        subcomponent=numbers.get("subcomponent"),
        repetition=numbers.get("repetition"),
        occurrence=numbers.get("occurrence"),
    )


__all__ = ["Address"]
