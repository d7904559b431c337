"""DICOM DA and TM (PS3.5 6.2) as a FHIR dateTime.

DICOM sends no time zone unless asked (Timezone Offset From UTC): a modality's times are
taken as this machine's local time, which is where the modality is.
"""

from __future__ import annotations

from datetime import datetime


def fhir_datetime(date: str, time: str = "") -> str | None:
    """``YYYYMMDD`` and ``HHMM[SS[.F]]`` → FHIR dateTime with offset; the date alone if no
    usable time; None if the date is not one."""
    date = date.strip()
    if len(date) != 8 or not date.isdigit():
        return None
    time = time.strip().replace(":", "")[:6]
    if len(time) < 4 or not time[:4].isdigit():
        return f"{date[:4]}-{date[4:6]}-{date[6:]}"
    padded = (time + "00")[:6] if time.isdigit() else time[:4] + "00"
    try:
        local = datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(padded[:2]),
                         int(padded[2:4]), min(int(padded[4:6]), 59)).astimezone()  # fmt: skip
    except ValueError:
        return None
    return local.isoformat(timespec="seconds")
