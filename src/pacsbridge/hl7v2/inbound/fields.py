"""HL7 v2 data types read into FHIR data types (HL7 v2.5.1 ch. 2A; FHIR R4 v2 mappings).

Each function takes decoded component text and answers a FHIR value, or raises an error
whose location names the field, so that the ACK's ERR points at it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pacsbridge.errors import BadValue
from pacsbridge.formats.hl7v2.code_systems import system_uri
from pacsbridge.formats.hl7v2.message import Field, Segment


class TableValueNotFound(BadValue):
    """A coded value outside its HL7 table (ERR code 103)."""

    hl7_code = 103


_DTM = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.(\d{1,4}))?([+-]\d{4})?$")
SEX = {
    "M": "male",
    "F": "female",
    "O": "other",
    "U": "unknown",
    "A": "other",
    "N": "unknown",
    # Senders that spell the code out are common enough to accept.
    "MALE": "male",
    "FEMALE": "female",
    "OTHER": "other",
    "UNKNOWN": "unknown",
}
PRIORITY = {"S": "stat", "A": "asap", "R": "routine", "P": "routine", "T": "urgent",
            "C": "urgent"}  # fmt: skip


def hl7_date(text: str, location: str) -> str | None:
    """HL7 DT/DTM → FHIR date (the date part only, as Patient.birthDate wants)."""
    if not text:
        return None
    match = _DTM.match(text)
    if not match or not _valid(match):
        raise BadValue(f"{text!r} is not an HL7 date (YYYY[MM[DD]])", location)
    year, month, day = match.group(1), match.group(2), match.group(3)
    return "-".join(p for p in (year, month, day) if p)


def hl7_datetime(text: str, location: str, zone: str | None) -> str | None:
    """HL7 DTM → FHIR dateTime; a time without offset is local to the sender's ``zone``."""
    if not text:
        return None
    match = _DTM.match(text)
    if not match or not _valid(match):
        raise BadValue(f"{text!r} is not an HL7 date/time (YYYYMMDDHHMMSS[+ZZZZ])", location)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if hour is None:
        return "-".join(p for p in (year, month, day) if p)
    moment = f"{year}-{month}-{day}T{hour}:{minute or '00'}:{second or '00'}"
    if fraction:
        moment += f".{fraction}"
    if offset is None:
        local = datetime(int(year), int(month), int(day), int(hour), int(minute or 0))
        tz = ZoneInfo(zone) if zone else datetime.now().astimezone().tzinfo
        delta = local.replace(tzinfo=tz).utcoffset()
        minutes = int(delta.total_seconds() // 60) if delta is not None else 0
        sign = "-" if minutes < 0 else "+"
        offset = f"{sign}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    return f"{moment}{offset[:3]}:{offset[3:]}"


def _valid(match: re.Match[str]) -> bool:
    year, month, day, hour, minute, second = (match.group(n) for n in range(1, 7))
    try:
        datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                 min(int(second or 0), 59))  # fmt: skip
    except ValueError:
        return False
    return True


def sex(code: str, location: str) -> str | None:
    if not code:
        return None
    if code.upper() not in SEX:
        raise TableValueNotFound(f"sex {code!r} is not in HL7 table 0001", location)
    return SEX[code.upper()]


def human_name(name: Field) -> dict[str, Any] | None:
    """XPN: family^given^middle^suffix^prefix^degree^type."""
    family = name.component(1)
    given = [g for g in (name.component(2), name.component(3)) if g]
    if not family and not given:
        return None
    result: dict[str, Any] = {}
    use = {"L": "official", "A": "anonymous", "M": "maiden", "N": "nickname", "D": "usual"}
    if name.component(7) in use:
        result["use"] = use[name.component(7)]
    if family:
        result["family"] = family
    if given:
        result["given"] = given
    if name.component(5):
        result["prefix"] = [name.component(5)]
    if name.component(4):
        result["suffix"] = [name.component(4)]
    return result


def person_display(person: Field) -> str | None:
    """XCN: id^family^given^middle^suffix^prefix: a readable name for Reference.display."""
    parts = [person.component(6), person.component(3), person.component(4), person.component(2)]
    text = " ".join(p for p in parts if p)
    return text or person.component(1) or None


def person_pn(person: Field, first: int = 2) -> str | None:
    """XCN (``first=2``) or XPN (``first=1``) as DICOM PN ``Family^Given^Middle``."""
    family, given, middle = (person.component(first + n) for n in range(3))
    text = "^".join((family, given, middle)).rstrip("^")
    return text or None


def practitioner_reference(person: Field) -> dict[str, Any] | None:
    """An XCN as a logical reference: identifier and display, no Practitioner needed."""
    display = person_display(person)
    if not display:
        return None
    reference: dict[str, Any] = {"display": display}
    if person.component(1):
        reference["identifier"] = {"value": person.component(1)}
    return reference


def address(xad: Field) -> dict[str, Any] | None:
    """XAD: street^other^city^state^zip^country^type."""
    lines = [line for line in (xad.component(1), xad.component(2)) if line]
    result: dict[str, Any] = {}
    if lines:
        result["line"] = lines
    for key, n in (("city", 3), ("state", 4), ("postalCode", 5), ("country", 6)):
        if xad.component(n):
            result[key] = xad.component(n)
    use = {"H": "home", "B": "work", "O": "work", "C": "temp", "BA": "old"}
    if xad.component(7) in use:
        result["use"] = use[xad.component(7)]
    return result or None


def contact_points(xtns: list[Field], default_use: str) -> list[dict[str, Any]]:
    """XTN: [number]^use^equipment^email^…^…^…^…^…^…^…^unformatted number."""
    points = []
    for xtn in xtns:
        email = xtn.component(4)
        number = xtn.component(1) or xtn.component(12) or _composed(xtn)
        equipment, use_code = xtn.component(3).upper(), xtn.component(2).upper()
        if email or equipment == "INTERNET" or use_code == "NET":
            value, system = email or number, "email"
        else:
            value, system = number, "fax" if equipment == "FX" else "phone"
        if not value:
            continue
        use = "mobile" if equipment == "CP" else {"PRN": "home", "WPN": "work"}.get(
            use_code, default_use)  # fmt: skip
        points.append({"system": system, "value": value, "use": use})
    return points


def _composed(xtn: Field) -> str:
    parts = [xtn.component(5), xtn.component(6), xtn.component(7)]
    return " ".join(p for p in parts if p)


def codeable_concept(cwe: Field) -> dict[str, Any] | None:
    """CE/CWE: code^text^system (and the alternate triplet) → CodeableConcept."""
    codings = []
    for first in (1, 4):
        code, text, system = (cwe.component(first + n) for n in range(3))
        if code:
            coding: dict[str, Any] = {"system": coding_system(system), "code": code}
            if text:
                coding["display"] = text
            codings.append(coding)
    text = cwe.component(2) or cwe.component(5)
    if not codings and not text:
        return None
    result: dict[str, Any] = {}
    if codings:
        result["coding"] = codings
    if text:
        result["text"] = text
    return result


def coding_system(hl7_system: str) -> str:
    """An HL7 coding system name (table 0396) as a URI."""
    return system_uri(hl7_system)


def first_field(segment: Segment | None, number: int) -> Field | None:
    if segment is None:
        return None
    repetitions = segment.repetitions(number)
    return repetitions[0] if repetitions and not repetitions[0].is_empty else None
