"""Times in outbound messages: FHIR dateTimes and the store's naive UTC as HL7 DTM."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from pacsbridge.formats.hl7v2.code_systems import system_uri
from pacsbridge.outbox.segments import ce, hl7_timestamp, now_timestamp


@pytest.fixture
def madrid(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Madrid")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_the_store_s_naive_utc_is_written_in_local_time_with_its_offset(madrid):
    assert now_timestamp(datetime(2025, 3, 15, 11, 0, 0)) == "20250315120000+0100"
    assert now_timestamp(datetime(2025, 7, 1, 11, 0, 0)) == "20250701130000+0200"


@pytest.mark.parametrize(("value", "expected"), [
    ("2025-03-15", "20250315"),
    ("2025-03-15T14:55:30+01:00", "20250315145530+0100"),
    ("2025-03-15T13:55:30.250Z", "20250315135530+0000"),
    ("2025-03-15T14:55:30", "20250315145530"),
    (None, None),
])  # fmt: skip
def test_fhir_datetimes_keep_their_precision_and_offset(value, expected):
    assert hl7_timestamp(value) == expected


def test_coding_systems_leave_under_the_names_they_came_with():
    for name in ("L", "LN", "SCT", "DCM", "99LOCAL", ""):
        concept = {"coding": [{"system": system_uri(name), "code": "X1", "display": "x"}]}
        assert ce(concept) == ["X1", "x", name]
