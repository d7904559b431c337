"""How search values are normalised, once for indexing and querying alike.

The index stores what these functions return for a resource's values, and the query builder
compares with what they return for a search's values: both sides call the same code, so they
cannot drift apart. Each function cites the FHIR R4 search rule (http://hl7.org/fhir/R4/search.html)
it implements and raises ``BadValue`` for a malformed value.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation, localcontext

from pacsbridge.errors import BadValue

#: Search values never hold these (and PostgreSQL refuses NUL in text): refused up front.
has_control_character = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]").search

#: Open ends of a Period without ``start`` or ``end`` (naive UTC, as all dates here).
MIN_DATE = datetime.min
MAX_DATE = datetime.max

# FHIR R4 date, dateTime and instant (datatypes.html), with seconds optional as search allows.
_DATE = re.compile(
    r"(?P<year>[0-9]{4})"
    r"(?:-(?P<month>[0-9]{2})"
    r"(?:-(?P<day>[0-9]{2})"
    r"(?:T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?)?"
    r"(?P<zone>Z|[+-][0-9]{2}:[0-9]{2})?"
    r")?)?)?"
)
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_MAX_EXPONENT = 1000  # beyond any real measurement; keeps Decimal arithmetic bounded

# FHIR R4 references (references.html): Type/id, optionally /_history/vid, after any base URL.
_TYPE = r"[A-Z][A-Za-z]+"
_ID = r"[A-Za-z0-9\-.]{1,64}"
_RELATIVE = re.compile(rf"(?P<type>{_TYPE})/(?P<id>{_ID})(?:/_history/{_ID})?")
_ABSOLUTE = re.compile(
    rf"(?P<base>https?://[^?#]+/)(?P<type>{_TYPE})/(?P<id>{_ID})(?:/_history/{_ID})?"
)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:\S+")


def normalize_string(text: str) -> str:
    """``text`` case-folded, without accents, its whitespace collapsed to single spaces.

    FHIR R4 search 3.1.1.4.5: string search is case- and accent-insensitive and may ignore
    punctuation and extra spaces. Accents go by Unicode NFKD decomposition and dropping the
    combining marks, so "Muñoz", "MUNOZ" and "muñoz" all become "munoz".
    """
    if text.isascii():  # the common case, ten times faster
        return " ".join(text.lower().split())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def date_range(text: str) -> tuple[datetime, datetime]:
    """The inclusive interval [low, high] that a FHIR date, dateTime or instant covers.

    FHIR R4 search 3.1.1.4.2: a value stands for the whole span of its precision, so
    ``2025`` covers the year, ``2025-03`` the month, ``2025-03-15T12:05`` the minute, and
    ``12:05:00.5`` the tenth of a second. Both ends are naive datetimes in UTC, to the
    microsecond. A value with a time zone is converted to UTC; a value without one (a
    date, or a search value without an offset) is taken to be in UTC: the spec leaves
    that to the server, and UTC keeps indexing and querying independent of where we run.
    Leap second ``:60`` counts as the last microsecond of its minute.
    """
    match = _DATE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise BadValue(f"not a FHIR date, dateTime or instant: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        if month is None:
            low = datetime(int(year), 1, 1)
            high = datetime(int(year), 12, 31, 23, 59, 59, 999999)
        elif day is None:
            last = calendar.monthrange(int(year), int(month))[1]
            low = datetime(int(year), int(month), 1)
            high = datetime(int(year), int(month), last, 23, 59, 59, 999999)
        elif hour is None:
            low = datetime(int(year), int(month), int(day))
            high = low.replace(hour=23, minute=59, second=59, microsecond=999999)
        else:
            low = datetime(int(year), int(month), int(day), int(hour), int(minute))
            low, high = _time_span(low, second, fraction)
    except ValueError:
        raise BadValue(f"not a valid date or time: {text!r}") from None
    if zone is not None and zone != "Z":
        low, high = _to_utc(low, high, zone, text)
    return low, high


def _time_span(
    start: datetime, second: str | None, fraction: str | None
) -> tuple[datetime, datetime]:
    """The span of a time of minute, second or fractional-second precision."""
    if second is None:
        return start, start.replace(second=59, microsecond=999999)
    if second == "60":  # leap second: the end of the minute
        end = start.replace(second=59, microsecond=999999)
        return end, end
    low = start.replace(second=int(second))
    if fraction is None:
        return low, low.replace(microsecond=999999)
    if len(fraction) >= 6:  # finer than we store: one microsecond
        low = low.replace(microsecond=int(fraction[:6]))
        return low, low
    unit = 10 ** (6 - len(fraction))
    micro = int(fraction) * unit
    return low.replace(microsecond=micro), low.replace(microsecond=micro + unit - 1)


def _to_utc(low: datetime, high: datetime, zone: str, text: str) -> tuple[datetime, datetime]:
    """Shift both ends by the ``±hh:mm`` offset; dates past year 1 or 9999 are clamped."""
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 14 or minutes > 59:
        raise BadValue(f"not a valid time zone offset: {text!r}")
    offset = timedelta(hours=hours, minutes=minutes)
    if zone[0] == "-":
        offset = -offset
    try:
        low = low - offset
    except OverflowError:
        low = MIN_DATE if offset > timedelta(0) else MAX_DATE
    try:
        high = high - offset
    except OverflowError:
        high = MIN_DATE if offset > timedelta(0) else MAX_DATE
    return low, high


def parse_decimal(text: str) -> Decimal:
    """A FHIR decimal (``100``, ``-0.25``, ``1e2``, ``1.5E-3``) as an exact Decimal.

    The Decimal keeps the written precision (``Decimal("100.00")`` has exponent -2), which
    ``decimal_range`` needs. NaN, infinities and absurd exponents are refused.
    """
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise BadValue(f"not a decimal number: {text!r}")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadValue(f"not a decimal number: {text!r}") from None
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite by the regex
    if abs(exponent) > _MAX_EXPONENT:
        raise BadValue(f"decimal number out of range: {text!r}")
    return value


def decimal_range(text: str) -> tuple[Decimal, Decimal]:
    """The half-open interval [low, high) that a search number stands for.

    FHIR R4 search 3.1.1.4.1: a number is matched to its written precision, plus or minus
    half a unit of its last significant digit: ``100`` is [99.5, 100.5), ``100.00`` is
    [99.995, 100.005). We apply the same rule to exponents, so ``1e2`` (one significant
    figure) is [50, 150) and ``1.0e2`` is [95, 105). The spec's table prints [95, 105) for
    ``1e2``, which contradicts its own "1 significant figure"; we follow the rule, as HAPI FHIR
    does. Quantity search (3.1.1.4.7) uses the same range.
    """
    value = parse_decimal(text)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    half = Decimal((0, (5,), exponent - 1))
    with localcontext() as context:
        context.prec = len(digits) + 4  # value ± half is exact at this precision
        context.Emax = _MAX_EXPONENT + 100
        context.Emin = -_MAX_EXPONENT - 100
        return value - half, value + half


def parse_reference(text: str) -> tuple[str | None, str | None, str | None] | None:
    """A reference string as ``(type, id, url)``, or None when it points inside the resource.

    FHIR R4 references.html:
    - ``Patient/123`` and ``Patient/123/_history/2``: type and id, no url (the version is
      dropped: a search by reference finds every version's referrers);
    - ``https://host/fhir/Patient/123``: type and id as well as the url, without ``_history``;
    - ``urn:uuid:…``, ``urn:oid:…`` and other absolute URIs: the url only;
    - ``#contained``: None, a contained resource is not a search target; so is anything that
      is none of the above (``Patient/bad id``), which a validated resource never holds.
    """
    if not text or text[0] == "#":
        return None
    match = _RELATIVE.fullmatch(text)
    if match is not None:
        return match["type"], match["id"], None
    match = _ABSOLUTE.fullmatch(text)
    if match is not None:
        url = f"{match['base']}{match['type']}/{match['id']}"
        return match["type"], match["id"], url
    if _SCHEME.fullmatch(text):
        return None, None, text
    return None


__all__ = [
    "MAX_DATE",
    "MIN_DATE",
    "date_range",
    "decimal_range",
    "normalize_string",
    "parse_decimal",
    "parse_reference",
]
