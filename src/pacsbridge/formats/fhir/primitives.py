"""The value rules of the FHIR R4 primitive types, for JSON values and XML lexical forms.

The regular expressions are those of http://hl7.org/fhir/R4/datatypes.html#primitive, with
XML Schema's ``\\s`` (space, tab, CR, LF only) spelled out, since Python's ``\\s`` also
matches other Unicode spaces. Two deliberate departures, both towards the prose of the spec:
base64Binary allows ``/`` (the published R4 regex forgets it), and dates must exist
("Dates SHALL be valid dates", so no February 30th).
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from decimal import Decimal

_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_TIME = r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?"
_ZONE = r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
_MONTH_DAY = r"-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"

_DATE = re.compile(rf"{_YEAR}({_MONTH_DAY})?)?").fullmatch
_DATE_TIME = re.compile(rf"{_YEAR}({_MONTH_DAY}(T{_TIME}{_ZONE})?)?)?").fullmatch
_INSTANT = re.compile(
    rf"{_YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T{_TIME}{_ZONE}"
).fullmatch
_TIME_OF_DAY = re.compile(_TIME).fullmatch
_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}").fullmatch
_CODE = re.compile(r"[^ \t\r\n]+([ \t\r\n][^ \t\r\n]+)*").fullmatch
_URI = re.compile(r"[^ \t\r\n]+").fullmatch
_OID = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+").fullmatch
_UUID = re.compile(
    r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
).fullmatch
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}").fullmatch
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?").fullmatch
_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)").fullmatch
_UNSIGNED = re.compile(r"0|[1-9][0-9]*").fullmatch
_POSITIVE = re.compile(r"\+?[1-9][0-9]*").fullmatch

MAX_STRING = 1024 * 1024  # "strings SHALL NOT exceed 1,048,576 characters"
_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1

# R4 datatypes.html#string: no code points below 32 but tab, CR and LF.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]").search

Check = Callable[[object], str | None]


def _text(value: object) -> str | None:
    if type(value) is not str:
        return "must be a JSON string"
    if not value:
        return "must not be an empty string"
    if len(value) > MAX_STRING:
        return "is longer than 1,048,576 characters"
    if _CONTROL(value):
        return "contains a control character (only tab, CR and LF are allowed below U+0020)"
    return None


def _pattern(match: Callable[[str], object], what: str) -> Check:
    def check(value: object) -> str | None:
        problem = _text(value)
        if problem:
            return problem
        if match(value) is None:
            return f"is not a valid {what}: {_show(value)}"
        return None

    return check


def _real_date(value: str) -> bool:
    # the regexes bound month to 01-12 and day to 01-31; the calendar does the rest
    if len(value) < 10:
        return True
    year, month, day = int(value[0:4]), int(value[5:7]), int(value[8:10])
    return day <= calendar.monthrange(year, month)[1]


def _dated(match: Callable[[str], object], what: str) -> Check:
    def check(value: object) -> str | None:
        problem = _text(value)
        if problem:
            return problem
        if match(value) is None or not _real_date(value):
            return f"is not a valid {what}: {_show(value)}"
        return None

    return check


def _boolean(value: object) -> str | None:
    return None if type(value) is bool else "must be true or false"


def _integer_in(low: int, what: str) -> Check:
    def check(value: object) -> str | None:
        if type(value) is not int:
            return f"must be a JSON number without fraction ({what})"
        if not low <= value <= _INT_MAX:
            return f"is out of range for {what}: {value}"
        return None

    return check


def _decimal(value: object) -> str | None:
    kind = type(value)
    if kind is int:
        return None
    if kind is float or kind is Decimal:
        return None if math.isfinite(value) else "must be a finite number"
    return "must be a JSON number"


def _base64(value: object) -> str | None:
    problem = _text(value)
    if problem:
        return problem
    compact = "".join(value.split())
    if len(compact) % 4 or _BASE64(compact) is None:
        return "is not valid base64"
    return None


def _xhtml(value: object) -> str | None:
    problem = _text(value)
    if problem:
        return problem
    if not value.startswith("<div"):
        return "must be XHTML starting with <div"
    return None


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


CHECKS: dict[str, Check] = {
    "base64Binary": _base64,
    "boolean": _boolean,
    "canonical": _pattern(_URI, "canonical"),
    "code": _pattern(_CODE, "code"),
    "date": _dated(_DATE, "date"),
    "dateTime": _dated(_DATE_TIME, "dateTime"),
    "decimal": _decimal,
    "id": _pattern(_ID, "id"),
    "instant": _dated(_INSTANT, "instant"),
    "integer": _integer_in(_INT_MIN, "integer"),
    "markdown": _text,
    "oid": _pattern(_OID, "oid"),
    "positiveInt": _integer_in(1, "positiveInt"),
    "string": _text,
    "time": _pattern(_TIME_OF_DAY, "time"),
    "unsignedInt": _integer_in(0, "unsignedInt"),
    "uri": _pattern(_URI, "uri"),
    "url": _pattern(_URI, "url"),
    "uuid": _pattern(_UUID, "uuid"),
    "xhtml": _xhtml,
}
"""FHIR type code -> check of a JSON value, returning what is wrong or None."""


def check(type_code: str, value: object) -> str | None:
    """What is wrong with ``value`` as a JSON value of the primitive ``type_code``, or None."""
    return CHECKS[type_code](value)


def parse_lexical(type_code: str, text: str) -> object:
    """The JSON value of an XML ``value`` attribute: booleans and numbers typed, others as is.

    Decimals become int when written without fraction or exponent, float otherwise (so
    "1.50" reads as 1.5: JSON numbers in a dict cannot keep trailing zeros).
    Raises ValueError with a readable text for a malformed boolean or number.
    """
    if type_code == "boolean":
        if text == "true":
            return True
        if text == "false":
            return False
        raise ValueError(f"must be true or false, not {_show(text)}")
    if type_code == "decimal":
        if _DECIMAL(text) is None:
            raise ValueError(f"is not a valid decimal: {_show(text)}")
        if _INTEGER(text):
            return int(text)
        number = float(text)
        if not math.isfinite(number):
            raise ValueError(f"is out of range for decimal: {_show(text)}")
        return number
    if type_code in ("integer", "unsignedInt", "positiveInt"):
        match = {"integer": _INTEGER, "unsignedInt": _UNSIGNED, "positiveInt": _POSITIVE}
        if match[type_code](text) is None:
            raise ValueError(f"is not a valid {type_code}: {_show(text)}")
        number = int(text)
        if number > _INT_MAX or number < _INT_MIN:
            raise ValueError(f"is out of range for {type_code}: {_show(text)}")
        return number
    return text


__all__ = ["CHECKS", "MAX_STRING", "check", "parse_lexical"]
