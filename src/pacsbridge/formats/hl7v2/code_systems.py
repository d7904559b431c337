"""HL7 v2 coding system names (table 0396) and the FHIR system URIs they stand for.

Both directions in one table, so that a code that came in as ``LN`` or ``L`` leaves as
``LN`` or ``L`` again. Names without a known URI travel as ``urn:pacsbridge:code:<name>``.
"""

from __future__ import annotations

LOCAL_PREFIX = "urn:pacsbridge:code:"
_UNNAMED = LOCAL_PREFIX + "local"  # a code that came without a coding system

CODE_SYSTEMS = {
    "LN": "http://loinc.org",
    "SCT": "http://snomed.info/sct",
    "SNM": "http://snomed.info/sct",
    "DCM": "http://dicom.nema.org/resources/ontology/DCM",
    "RADLEX": "http://www.radlex.org",
    "I10": "http://hl7.org/fhir/sid/icd-10",
    "ICD10": "http://hl7.org/fhir/sid/icd-10",
    "UCUM": "http://unitsofmeasure.org",
}
_NAMES = {uri: name for name, uri in reversed(CODE_SYSTEMS.items())}  # SCT before SNM


def system_uri(name: str) -> str:
    """An HL7 coding system name as a URI."""
    if not name:
        return _UNNAMED
    return CODE_SYSTEMS.get(name.upper(), f"{LOCAL_PREFIX}{name}")


def system_name(uri: str) -> str:
    """The HL7 coding system name for a URI ("" for a code that came without one)."""
    if uri == _UNNAMED:
        return ""
    return _NAMES.get(uri) or uri.removeprefix(LOCAL_PREFIX)
