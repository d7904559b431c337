"""DICOM DA + TM as FHIR dateTime."""

from __future__ import annotations

from datetime import datetime

from pacsbridge.formats.dicom.dates import fhir_datetime


def test_date_and_time_become_a_local_datetime_with_its_offset():
    expected = datetime(2025, 3, 15, 9, 35, 0).astimezone().isoformat(timespec="seconds")
    assert fhir_datetime("20250315", "093500") == expected
    assert fhir_datetime("20250315", "0935") == expected
    assert fhir_datetime("20250315", "093500.123") == expected
    assert fhir_datetime("20250315", "09:35:00") == expected


def test_a_date_alone_and_bad_values():
    assert fhir_datetime("20250315") == "2025-03-15"
    assert fhir_datetime("20250315", "9") == "2025-03-15"
    assert fhir_datetime("2025031") is None
    assert fhir_datetime("20250230", "1000") is None
    assert fhir_datetime("20250315", "2561") is None
