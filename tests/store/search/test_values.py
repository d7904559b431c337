"""Tests of the value normalisation shared by the search index and the query builder."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest

from pacsbridge.errors import BadValue
from pacsbridge.store.search.values import (
    MAX_DATE,
    MIN_DATE,
    date_range,
    decimal_range,
    normalize_string,
    parse_decimal,
    parse_reference,
)

# --- normalize_string ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("García", "garcia"),
        ("MUÑOZ", "munoz"),
        ("muñoz", "munoz"),
        ("  Pedro   García\tLópez \n", "pedro garcia lopez"),
        ("Ångström", "angstrom"),
        ("Straße", "strasse"),  # case folding, not just lower()
        ("İstanbul", "istanbul"),
        ("Ｔｏｋｙｏ", "tokyo"),  # full-width letters by NFKD
        ("Zoë\u00a0Ça", "zoe ca"),  # no-break space is whitespace
        ("C/ Mayor 1", "c/ mayor 1"),  # punctuation is kept
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_string_folds_case_accents_and_spaces(text: str, expected: str) -> None:
    assert normalize_string(text) == expected


def test_normalize_string_ascii_and_unicode_paths_agree() -> None:
    assert normalize_string("Pedro  GARCIA") == normalize_string("Pédro  GARCÍA")


# --- date_range ---


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("2025", datetime(2025, 1, 1), datetime(2025, 12, 31, 23, 59, 59, 999999)),
        ("2025-02", datetime(2025, 2, 1), datetime(2025, 2, 28, 23, 59, 59, 999999)),
        ("2024-02", datetime(2024, 2, 1), datetime(2024, 2, 29, 23, 59, 59, 999999)),
        ("2025-03-15", datetime(2025, 3, 15), datetime(2025, 3, 15, 23, 59, 59, 999999)),
        (
            "2025-03-15T12:05",
            datetime(2025, 3, 15, 12, 5),
            datetime(2025, 3, 15, 12, 5, 59, 999999),
        ),
        (
            "2025-03-15T12:05:30",
            datetime(2025, 3, 15, 12, 5, 30),
            datetime(2025, 3, 15, 12, 5, 30, 999999),
        ),
        (
            "2025-03-15T12:05:30Z",
            datetime(2025, 3, 15, 12, 5, 30),
            datetime(2025, 3, 15, 12, 5, 30, 999999),
        ),
        (
            "2025-03-15T12:05:00+01:00",
            datetime(2025, 3, 15, 11, 5),
            datetime(2025, 3, 15, 11, 5, 0, 999999),
        ),
        (
            "2025-03-15T23:30:00-05:30",
            datetime(2025, 3, 16, 5, 0),
            datetime(2025, 3, 16, 5, 0, 0, 999999),
        ),
        (
            "2025-03-15T12:05:00.5Z",
            datetime(2025, 3, 15, 12, 5, 0, 500000),
            datetime(2025, 3, 15, 12, 5, 0, 599999),
        ),
        (
            "2025-03-15T12:05:00.123+01:00",
            datetime(2025, 3, 15, 11, 5, 0, 123000),
            datetime(2025, 3, 15, 11, 5, 0, 123999),
        ),
        (
            "2025-03-15T12:05:00.1234567Z",  # beyond microseconds: truncated, one instant
            datetime(2025, 3, 15, 12, 5, 0, 123456),
            datetime(2025, 3, 15, 12, 5, 0, 123456),
        ),
        (
            "2016-12-31T23:59:60Z",  # leap second
            datetime(2016, 12, 31, 23, 59, 59, 999999),
            datetime(2016, 12, 31, 23, 59, 59, 999999),
        ),
    ],
)
def test_date_range_covers_the_span_of_the_precision(
    text: str, low: datetime, high: datetime
) -> None:
    assert date_range(text) == (low, high)


def test_date_range_is_naive_utc() -> None:
    low, high = date_range("2025-03-15T12:05:00+01:00")
    assert low.tzinfo is None and high.tzinfo is None
    assert date_range("2025-03-15T11:05:00Z") == (low, high)


def test_date_range_takes_values_without_zone_as_utc() -> None:
    assert date_range("2025-03-15T12:05:00") == date_range("2025-03-15T12:05:00Z")


def test_date_range_clamps_beyond_the_calendar() -> None:
    assert date_range("0001-01-01T00:30:00+01:00")[0] == MIN_DATE
    assert date_range("9999-12-31T23:30:00-01:00")[1] == MAX_DATE


@pytest.mark.parametrize(
    "text",
    [
        "",
        "25",
        "20250315",  # HL7 v2 style, not FHIR
        "2025-3-15",
        "2025-13",
        "2025-02-30",
        "0000",
        "2025-03-15T25:00:00Z",
        "2025-03-15T12:60:00Z",
        "2025-03-15T12",
        "2025-03-15 12:05:00",
        "2025-03-15T12:05:00+15:00",
        "2025-03-15T12:05:00+01",
        "2025-03-15Z",
        "2025-03-15T12:05:00.Z",
        " 2025",
        "yesterday",
    ],
)
def test_date_range_refuses_malformed_values(text: str) -> None:
    with pytest.raises(BadValue):
        date_range(text)


def test_date_range_refuses_non_strings() -> None:
    with pytest.raises(BadValue):
        date_range(2025)  # type: ignore[arg-type]


def test_min_and_max_date_enclose_every_value() -> None:
    low, high = date_range("2025")
    assert MIN_DATE < low < high < MAX_DATE


# --- parse_decimal and decimal_range ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100", "100"), ("-0.25", "-0.25"), ("1e2", "1E+2"), ("1.5E-3", "0.0015"), ("+7", "7")],
)
def test_parse_decimal_is_exact(text: str, expected: str) -> None:
    assert parse_decimal(text) == Decimal(expected)


def test_parse_decimal_keeps_the_written_precision() -> None:
    assert str(parse_decimal("100.00")) == "100.00"


@pytest.mark.parametrize(
    "text", ["", "abc", "NaN", "Infinity", "-inf", "1,5", "1.", ".5", "1e", "1e99999", " 1"]
)
def test_parse_decimal_refuses_malformed_values(text: str) -> None:
    with pytest.raises(BadValue):
        parse_decimal(text)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("100", "99.5", "100.5"),
        ("100.00", "99.995", "100.005"),
        ("1e2", "50", "150"),
        ("1.0e2", "95", "105"),
        ("0", "-0.5", "0.5"),
        ("-100", "-100.5", "-99.5"),
        ("0.001", "0.0005", "0.0015"),
        (
            "123456789012345678901234567890",
            "123456789012345678901234567889.5",
            "123456789012345678901234567890.5",
        ),
    ],
)
def test_decimal_range_is_half_a_unit_of_the_last_digit(text: str, low: str, high: str) -> None:
    assert decimal_range(text) == (Decimal(low), Decimal(high))


def test_decimal_range_refuses_malformed_values() -> None:
    with pytest.raises(BadValue):
        decimal_range("ten")


# --- parse_reference ---


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Patient/123", ("Patient", "123", None)),
        ("Patient/123/_history/2", ("Patient", "123", None)),
        (
            "http://example.org/fhir/Patient/123",
            ("Patient", "123", "http://example.org/fhir/Patient/123"),
        ),
        (
            "https://example.org/fhir/R4/Patient/a.b-c/_history/7",
            ("Patient", "a.b-c", "https://example.org/fhir/R4/Patient/a.b-c"),
        ),
        (
            "urn:uuid:5c3c5e5a-7a83-4c8e-9a52-3b0f6f2b8a11",
            (None, None, "urn:uuid:5c3c5e5a-7a83-4c8e-9a52-3b0f6f2b8a11"),
        ),
        ("urn:oid:1.2.3.4", (None, None, "urn:oid:1.2.3.4")),
        ("http://example.org/not-a-resource", (None, None, "http://example.org/not-a-resource")),
    ],
)
def test_parse_reference_forms(text: str, expected: tuple[str | None, ...]) -> None:
    assert parse_reference(text) == expected


@pytest.mark.parametrize("text", ["", "#p1", "Patient/bad id", "patient/1", "123"])
def test_parse_reference_skips_contained_and_garbage(text: str) -> None:
    assert parse_reference(text) is None
