"""Writing HL7 v2 segments and messages: ACKs and outbound ORU/ORM.

HL7 v2.5.1 ch. 2, 2.5-2.7: fields are joined by the field separator, repetitions by ``~``,
components by ``^``, subcomponents by ``&``; every value is escaped (2.7.4) except MSH-1 and
MSH-2, which *are* the separators. Trailing empty fields and components are left out, as the
standard allows (2.5.3: "trailing delimiters may be omitted"). Every segment ends with CR.

A field value is written as:

- ``None`` or ``""``: empty; a ``str`` (or ``int``): one value;
- a ``list``: the components of one value, and a ``list`` inside it: the subcomponents of
  that component (``["12345", "DR LOPEZ", "ANA"]``, ``["", "", ["MEDISFERA", "ISO"]]``);
- :class:`Repetitions` (a list): the repetitions of the field, each written as above.

Repetitions are marked by their own type because a bare list of strings is far more often a
composite (MSH-9 ``["ACK", "O01", "ACK"]``) than a repeating field.
"""

from __future__ import annotations

import itertools
import os
import time
from collections.abc import Mapping, Sequence
from typing import TypeAlias

from .escape import escape
from .message import HEADER_SEGMENTS, Separators

Leaf: TypeAlias = str | int | None
Component: TypeAlias = Leaf | list[Leaf]
Value: TypeAlias = Leaf | list[Component]


class Repetitions(list[Value]):
    """The repetitions of one field: ``Repetitions(["1234^^^HIS", ["987", "", "", "NHS"]])``."""


FieldValue: TypeAlias = Value | Repetitions
DEFAULT_SEPARATORS = Separators()


def _leaf(value: Leaf, separators: Separators) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return escape(value, separators)
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"an HL7 value must be str, int or None, not {type(value).__name__}")


def _component(value: Component, separators: Separators) -> str:
    if isinstance(value, list):
        subs = separators.subcomponent.join(_leaf(sub, separators) for sub in value)
        return subs.rstrip(separators.subcomponent)
    return _leaf(value, separators)


def _value(value: Value, separators: Separators) -> str:
    if isinstance(value, list):
        components = separators.component.join(_component(c, separators) for c in value)
        return components.rstrip(separators.component)
    return _leaf(value, separators)


def encode_field(value: FieldValue, separators: Separators = DEFAULT_SEPARATORS) -> str:
    """One field as escaped text, from the nested form described in the module docstring."""
    if isinstance(value, Repetitions):
        return separators.repetition.join(_value(one, separators) for one in value)
    return _value(value, separators)


def encode_segment(
    name: str,
    fields: Sequence[FieldValue] | Mapping[int, FieldValue],
    separators: Separators = DEFAULT_SEPARATORS,
) -> str:
    """One segment (without its CR); ``fields[0]`` is field 1, or a mapping by field number.

    For MSH (BHS, FHS) fields 1 and 2 are written from ``separators`` and must be given as
    ``None`` (or as what they must be) in a list: ``{3: "PACSBRIDGE", 9: [...]}`` reads better.
    """
    if isinstance(fields, Mapping):
        count = max(fields, default=0)
        values = [fields.get(number) for number in range(1, count + 1)]
    else:
        values = list(fields)
    fs = separators.field
    head = name
    if name in HEADER_SEGMENTS:
        expected = [fs, separators.encoding_characters]
        for number, (given, wanted) in enumerate(zip(values[:2], expected, strict=False), 1):
            if given is not None and given != wanted:
                raise ValueError(
                    f"{name}-{number} is written from the separators ({wanted!r}); "
                    f"got {given!r}: fields[0] is {name}-1"
                )
        head = name + fs + separators.encoding_characters
        values = values[2:]
    encoded = [encode_field(value, separators) for value in values]
    while encoded and not encoded[-1]:
        encoded.pop()
    return fs.join([head, *encoded])


_counter = itertools.count(1)


def new_control_id() -> str:
    """An MSH-10 unique across restarts and processes: time in ms, process, counter."""
    return f"PB{int(time.time() * 1000)}{os.getpid() % 1000:03d}{next(_counter) % 10000:04d}"


def encode_message(segments: list[str]) -> str:
    """A message from its encoded segments, each ended by CR (HL7 v2.5.1 ch. 2, 2.5)."""
    return "".join(segment + "\r" for segment in segments)


__all__ = [
    "DEFAULT_SEPARATORS",
    "FieldValue",
    "Repetitions",
    "encode_field",
    "encode_message",
    "encode_segment",
    "new_control_id",
]
