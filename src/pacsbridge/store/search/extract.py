"""Index rows of a resource: every search parameter's values, normalised, one table per type.

FHIR R4 search (http://hl7.org/fhir/R4/search.html) defines per parameter type which
datatypes it reads and how it matches them; this module turns a resource into the rows that
the index tables hold, so a search becomes a lookup instead of a walk over stored JSON.

No structure definitions are needed: the datatype of each value found on a parameter's path
is read from its JSON shape under the parameter's type (a dict with ``coding`` is a
CodeableConcept, with ``start``/``end`` a Period, with ``family``/``given`` a HumanName...).
A value that does not normalise (a malformed date) is skipped rather than failing the write:
the resource was validated before it got here, and an index row less is better than a lost
message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pacsbridge.errors import BadValue
from pacsbridge.store.search.params import SearchParam, Step
from pacsbridge.store.search.values import (
    MAX_DATE,
    MIN_DATE,
    date_range,
    normalize_string,
    parse_reference,
)

# The string parts of a HumanName (text, family, given, prefix, suffix) and an Address
# (text, line, city, district, state, postalCode, country) that FHIR R4 search 3.1.1.4.5
# says a string parameter on them matches. Their names do not overlap except ``text``.
_STRING_PARTS = (
    "text",
    "family",
    "given",
    "prefix",
    "suffix",
    "line",
    "city",
    "district",
    "state",
    "postalCode",
    "country",
)

# The same name parts reach several parameters (name, family, given): normalise each once.
_normalize = lru_cache(maxsize=4096)(normalize_string)

_MONEY_SYSTEM = "urn:iso:std:iso:4217"  # R4 3.1.1.4.7: Money's currency is its unit code


@dataclass
class IndexRows:
    """The index rows of one resource, one list of plain tuples per parameter type.

    The first item of every tuple is the parameter name; the resource type and id are the
    caller's. Rows are unique within each list, in the order first found.
    """

    #: (param, normalized, exact): string search compares ``normalized``, ``:exact`` the other.
    strings: list[tuple[str, str, str]] = field(default_factory=list)
    #: (param, system or None, code): Coding, Identifier, ContactPoint, code, boolean...
    tokens: list[tuple[str, str | None, str]] = field(default_factory=list)
    #: (param, target type or None, target id or None, url or None)
    references: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    #: (param, low, high): the inclusive interval covered, naive UTC.
    dates: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    #: (param, uri)
    uris: list[tuple[str, str]] = field(default_factory=list)
    #: (param, value)
    numbers: list[tuple[str, Decimal]] = field(default_factory=list)
    #: (param, value, system, code, unit)
    quantities: list[tuple[str, Decimal, str | None, str | None, str | None]] = field(
        default_factory=list
    )

    def deduplicate(self) -> None:
        """Drop repeated rows, keeping the first of each (a name in two places, say)."""
        for f in fields(self):
            rows = getattr(self, f.name)
            if len(rows) > 1:
                setattr(self, f.name, list(dict.fromkeys(rows)))


def extract(resource: dict[str, Any], params: list[SearchParam]) -> IndexRows:
    """The index rows of ``resource`` for ``params`` (usually ``registry.for_resource(type)``).

    Each parameter's paths were parsed when it was loaded; here they are only walked.
    """
    rows = IndexRows()
    for param in params:
        emit = _EMITTERS[param.type]
        for steps in param.steps:
            for value in _walk(resource, steps):
                emit(rows, param, value)
    rows.deduplicate()
    return rows


def _walk(node: dict[str, Any], steps: tuple[Step, ...]) -> list[Any] | tuple[Any, ...]:
    """The values at ``steps`` below ``node``, arrays flattened at every step."""
    if len(steps) == 1 and steps[0].key is None:  # most paths: one element, no filter
        value = node.get(steps[0].name)
        if value is None:
            return ()
        return value if type(value) is list else (value,)
    nodes: list[Any] = [node]
    for step in steps:
        found: list[Any] = []
        for item in nodes:
            if type(item) is dict:
                value = item.get(step.name)
                if type(value) is list:
                    found.extend(value)
                elif value is not None:
                    found.append(value)
        if step.key is not None:
            found = [v for v in found if type(v) is dict and v.get(step.key) == step.value]
        if not found:
            return ()
        nodes = found
    return nodes


# --- one emitter per parameter type: value shape -> rows ---


def _emit_string(rows: IndexRows, param: SearchParam, value: Any) -> None:
    """string, markdown; HumanName and Address by their parts (R4 3.1.1.4.5)."""
    if type(value) is str:
        _add_string(rows, param.name, value)
    elif type(value) is dict:
        for key in _STRING_PARTS:
            part = value.get(key)
            if type(part) is str:
                _add_string(rows, param.name, part)
            elif type(part) is list:
                for item in part:
                    if type(item) is str:
                        _add_string(rows, param.name, item)


def _add_string(rows: IndexRows, name: str, text: str) -> None:
    normalized = _normalize(text)
    if normalized:
        rows.strings.append((name, normalized, text))


def _emit_token(rows: IndexRows, param: SearchParam, value: Any) -> None:
    """Coding, CodeableConcept, Identifier, ContactPoint, code, boolean (R4 3.1.1.4.10).

    A CodeableConcept's ``text`` and a Coding's ``display`` are not indexed: ``:text``
    search is not supported.
    """
    if type(value) is str:
        if value:
            rows.tokens.append((param.name, None, value))
    elif type(value) is bool:
        rows.tokens.append((param.name, None, "true" if value else "false"))
    elif type(value) is dict:
        codings = value.get("coding")
        if type(codings) is list:  # CodeableConcept
            for coding in codings:
                if type(coding) is dict:
                    _add_coding(rows, param.name, coding)
        elif "code" in value:  # Coding
            _add_coding(rows, param.name, value)
        else:  # Identifier or ContactPoint: system and value
            code = value.get("value")
            if type(code) is str:
                rows.tokens.append((param.name, _text_or_none(value.get("system")), code))


def _add_coding(rows: IndexRows, name: str, coding: dict[str, Any]) -> None:
    code = coding.get("code")
    if type(code) is str:
        rows.tokens.append((name, _text_or_none(coding.get("system")), code))


def _emit_reference(rows: IndexRows, param: SearchParam, value: Any) -> None:
    """Reference by its ``reference``; canonical and uri by their url (R4 3.1.1.4.11).

    Only targets of ``param.targets`` are kept (``subject.where(resolve() is Patient)``).
    A Reference's logical ``identifier`` goes to the tokens under the same parameter name,
    for the ``:identifier`` modifier.
    """
    if type(value) is str:  # canonical: the version after "|" does not take part
        url = value.split("|", 1)[0]
        if url:
            rows.references.append((param.name, None, None, url))
        return
    if type(value) is not dict:
        return
    declared = _text_or_none(value.get("type"))
    if declared is not None and param.targets and declared not in param.targets:
        return
    reference = value.get("reference")
    if type(reference) is str:
        parsed = parse_reference(reference)
        if parsed is not None:
            target_type, target_id, target_url = parsed
            target_type = target_type or declared
            if target_type is None or not param.targets or target_type in param.targets:
                rows.references.append((param.name, target_type, target_id, target_url))
    identifier = value.get("identifier")
    if type(identifier) is dict and type(identifier.get("value")) is str:
        system = _text_or_none(identifier.get("system"))
        rows.tokens.append((param.name, system, identifier["value"]))


def _emit_date(rows: IndexRows, param: SearchParam, value: Any) -> None:
    """date, dateTime, instant, Period, Timing (R4 3.1.1.4.2)."""
    if type(value) is str:
        span = _date_or_none(value)
        if span is not None:
            rows.dates.append((param.name, *span))
    elif type(value) is dict:
        if "start" in value or "end" in value:
            _add_period(rows, param.name, value)
        else:  # Timing: every event, and the bounds of the repeat
            events = value.get("event")
            for event in events if type(events) is list else ():
                span = _date_or_none(event)
                if span is not None:
                    rows.dates.append((param.name, *span))
            repeat = value.get("repeat")
            bounds = repeat.get("boundsPeriod") if type(repeat) is dict else None
            if type(bounds) is dict:
                _add_period(rows, param.name, bounds)


def _add_period(rows: IndexRows, name: str, period: dict[str, Any]) -> None:
    """A Period covers from its start's low to its end's high; a missing end is open."""
    start, end = period.get("start"), period.get("end")
    if start is None and end is None:
        return
    low, high = MIN_DATE, MAX_DATE
    if start is not None:
        span = _date_or_none(start)
        if span is None:
            return
        low = span[0]
    if end is not None:
        span = _date_or_none(end)
        if span is None:
            return
        high = span[1]
    rows.dates.append((name, low, high))


def _date_or_none(text: Any) -> tuple[datetime, datetime] | None:
    try:
        return date_range(text)
    except BadValue:
        return None


def _emit_uri(rows: IndexRows, param: SearchParam, value: Any) -> None:
    """uri, url, canonical, oid, uuid (R4 3.1.1.4.13)."""
    if type(value) is str and value:
        rows.uris.append((param.name, value))


def _emit_number(rows: IndexRows, param: SearchParam, value: Any) -> None:
    """integer, positiveInt, unsignedInt, decimal (R4 3.1.1.4.1)."""
    number = _decimal_or_none(value)
    if number is not None:
        rows.numbers.append((param.name, number))


def _emit_quantity(rows: IndexRows, param: SearchParam, value: Any) -> None:
    """Quantity and its kinds (Age, Duration...), Money; a bare number has no unit.

    The ``comparator`` of a stored Quantity is ignored, its value indexed as if exact.
    """
    if type(value) is dict:
        number = _decimal_or_none(value.get("value"))
        if number is None:
            return
        currency = _text_or_none(value.get("currency"))
        if currency is not None:
            rows.quantities.append((param.name, number, _MONEY_SYSTEM, currency, None))
            return
        system = _text_or_none(value.get("system"))
        code = _text_or_none(value.get("code"))
        unit = _text_or_none(value.get("unit"))
        rows.quantities.append((param.name, number, system, code, unit))
    else:
        number = _decimal_or_none(value)
        if number is not None:
            rows.quantities.append((param.name, number, None, None, None))


def _decimal_or_none(value: Any) -> Decimal | None:
    """A JSON number as a Decimal: a float by its shortest repr, so 0.1 stays 0.1."""
    if type(value) is int:
        return Decimal(value)
    if type(value) is float:
        number = Decimal(repr(value))
        return number if number.is_finite() else None
    return None


def _text_or_none(value: Any) -> str | None:
    return value if type(value) is str and value else None


_EMITTERS: dict[str, Callable[[IndexRows, SearchParam, Any], None]] = {
    "string": _emit_string,
    "token": _emit_token,
    "reference": _emit_reference,
    "date": _emit_date,
    "uri": _emit_uri,
    "number": _emit_number,
    "quantity": _emit_quantity,
}
