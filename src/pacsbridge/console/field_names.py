"""Names of HL7 v2 segment fields and their components, for the message tree.

Read from hl7apy's tables of the standard (HL7 v2.1 to v2.8.2), in the version the message
itself declares in MSH-12, so that a v2.3 ``PID-5`` is named as v2.3 names it. We chose
hl7apy over a table of our own because partners send segments we do not handle (AL1, DG1,
IN1, GT1, ROL, ...) and an integration engineer wants those named too; hl7apy is MIT, pure
Python, and loads a version in a few milliseconds. Z-segments are nobody's standard: the
one we read (ZDS, IHE RAD TF-2 4.4.4.1.2.2) has its entry here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from hl7apy import load_reference
from hl7apy.exceptions import ChildNotFound, UnsupportedVersion

FALLBACK_VERSIONS = ("2.5.1", "2.8.2")  # when the message's version lacks the segment
# The segments pacsbridge reads or writes, named as HL7 v2.5.1 names them (hl7apy has no
# segment descriptions); any other segment is shown by its code alone.
SEGMENT_NAMES = {
    "MSH": "Message header", "EVN": "Event type", "PID": "Patient identification",
    "PD1": "Patient additional demographic", "PV1": "Patient visit",
    "MRG": "Merge patient information",
    "ORC": "Common order", "OBR": "Observation request", "OBX": "Observation/result",
    "NTE": "Notes and comments", "TQ1": "Timing/quantity", "IPC": "Imaging procedure control",
    "SCH": "Scheduling activity information", "AIS": "Appointment information - service",
    "AIL": "Appointment information - location", "AIP": "Appointment information - personnel",
    "RGS": "Resource group", "MSA": "Message acknowledgment", "ERR": "Error",
    "ZDS": "Study instance UID (IHE RAD TF-2)",
}  # fmt: skip
LOCAL_FIELDS = {("ZDS", 1): ("Study Instance UID", "RP", ())}
ACRONYMS = frozenset({"id", "pid", "uid", "ssn", "hl7", "dicom", "ae", "sps", "ii", "iii"})


@dataclass(frozen=True)
class FieldName:
    """A field's name, data type and its components' names (empty for a simple field)."""

    name: str
    datatype: str
    components: tuple[str, ...] = ()

    def component(self, n: int) -> str:
        return self.components[n - 1] if 0 < n <= len(self.components) else ""


def readable(long_name: str) -> str:
    """``MOTHER_S_MAIDEN_NAME`` as ``Mother's maiden name``, ``SET_ID_PID`` as ``Set ID PID``."""
    words: list[str] = []
    for word in long_name.lower().split("_"):
        if word == "s" and words:
            words[-1] += "'s"
        elif word == "g" and words and words[-1] == "e":
            words[-1] = "e.g."
        elif word:
            spoken = word in ACRONYMS or any(c.isdigit() for c in word)  # PV1, PD1
            words.append(word.upper() if spoken else word)
    text = " ".join(words)
    return text[:1].upper() + text[1:]


@lru_cache(maxsize=4096)
def field_name(segment: str, number: int, version: str) -> FieldName | None:
    """The name of ``segment``-``number`` in ``version`` (else a newer one); None if unknown."""
    local = LOCAL_FIELDS.get((segment, number))
    if local is not None:
        return FieldName(*local)
    for candidate in dict.fromkeys((version, *FALLBACK_VERSIONS)):
        reference = _reference(f"{segment}_{number}", candidate)
        if reference is not None:
            return _from_reference(reference)
    return None


def _reference(name: str, version: str) -> Any:
    try:
        return load_reference(name, "Field", version)
    except (ChildNotFound, UnsupportedVersion, KeyError):
        return None


def _from_reference(reference: Any) -> FieldName:
    """hl7apy's shape: ('leaf', None, type, LONG_NAME, table, -1), or ('sequence', children,
    type, LONG_NAME, table, -1) whose children are (name, [kind, ..., LONG_NAME, ...], ...)."""
    kind, children, datatype, long_name = reference[0], reference[1], reference[2], reference[3]
    components: tuple[str, ...] = ()
    if kind == "sequence" and children:
        components = tuple(readable(str(child[1][3])) for child in children)
    return FieldName(readable(str(long_name)), str(datatype), components)
