"""How the worklist facts of an imaging order sit in a FHIR ServiceRequest.

FHIR R4 has no element for most DICOM worklist attributes (IHE RAD TF-2, DICOM PS3.4
Annex K), so pacsbridge keeps them as documented identifiers and one complex extension.
Every face reads and writes them through this module only: the HL7 face fills them from
ORM/OMI, the worklist projection reads them, FHIR clients may set them (docs/mapping.md).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

EXTENSION_BASE = "https://pacsbridge.org/fhir/StructureDefinition"
SPS_EXTENSION = f"{EXTENSION_BASE}/scheduled-procedure-step"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
DICOM_UID_SYSTEM = "urn:dicom:uid"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
REQUESTED_PROCEDURE_SYSTEM = "urn:pacsbridge:requested-procedure-id"

# field -> (sub-extension url, value[x] type)
_SPS_PARTS = {
    "sps_id": ("id", "valueString"),
    "modality": ("modality", "valueCoding"),
    "station_ae": ("stationAETitle", "valueString"),
    "station_name": ("stationName", "valueString"),
    "location": ("location", "valueString"),
    "description": ("description", "valueString"),
    "protocol_code": ("protocolCode", "valueCoding"),
    "performing_physician": ("performingPhysician", "valueString"),
    "referring_physician": ("referringPhysician", "valueString"),
    "status": ("status", "valueCode"),
}


@dataclass
class ScheduledStep:
    """One Scheduled Procedure Step, as the worklist shows it."""

    sps_id: str | None = None
    modality: str | None = None
    station_ae: str | None = None
    station_name: str | None = None
    location: str | None = None
    description: str | None = None
    protocol_code: dict[str, Any] | None = None  # a FHIR Coding
    performing_physician: str | None = None  # DICOM PN text
    referring_physician: str | None = None
    status: str = "SCHEDULED"  # PS3.3 C.4.10: ARRIVED READY STARTED COMPLETED DISCONTINUED CANCELED


def read_step(service_request: dict[str, Any]) -> ScheduledStep:
    step = ScheduledStep()
    for extension in service_request.get("extension", []):
        if extension.get("url") != SPS_EXTENSION:
            continue
        by_url = {part.get("url"): part for part in extension.get("extension", [])}
        for name, (url, kind) in _SPS_PARTS.items():
            part = by_url.get(url)
            if part is None:
                continue
            value = part.get(kind)
            if name == "modality" and isinstance(value, dict):
                value = value.get("code")
            setattr(step, name, value)
        break
    return step


def write_step(service_request: dict[str, Any], step: ScheduledStep) -> dict[str, Any]:
    """The ServiceRequest with its step extension replaced by ``step``."""
    parts = []
    for field in fields(step):
        value = getattr(step, field.name)
        if value in (None, "", {}):
            continue
        url, kind = _SPS_PARTS[field.name]
        if field.name == "modality":
            value = {"system": DCM, "code": value}
        parts.append({"url": url, kind: value})
    others = [e for e in service_request.get("extension", []) if e.get("url") != SPS_EXTENSION]
    result = dict(service_request)
    result["extension"] = [*others, {"url": SPS_EXTENSION, "extension": parts}]
    return result


def typed_identifier(code: str, value: str, system: str) -> dict[str, Any]:
    """An identifier typed from HL7 table 0203 (ACSN accession, PLAC placer, FILL filler)."""
    return {"type": {"coding": [{"system": V2_0203, "code": code}]}, "system": system,
            "value": value}  # fmt: skip


def identifier_of_type(resource: dict[str, Any], code: str) -> dict[str, Any] | None:
    for identifier in resource.get("identifier", []):
        for coding in identifier.get("type", {}).get("coding", []):
            if coding.get("system") == V2_0203 and coding.get("code") == code:
                return identifier
    return None


def study_uid_identifier(uid: str) -> dict[str, Any]:
    return {"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{uid}"}


def study_instance_uid(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier", []):
        if identifier.get("system") == DICOM_UID_SYSTEM:
            return str(identifier.get("value", "")).removeprefix("urn:oid:") or None
    return None


def requested_procedure_id(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier", []):
        if identifier.get("system") == REQUESTED_PROCEDURE_SYSTEM:
            return identifier.get("value")
    return None


def person_name_pn(name: dict[str, Any] | None) -> str | None:
    """A FHIR HumanName as DICOM PN ``Family^Given^Middle^Prefix^Suffix`` (PS3.5 6.2)."""
    if not name:
        return None
    given = name.get("given", [])
    parts = [
        name.get("family", ""),
        given[0] if given else "",
        " ".join(given[1:]),
        " ".join(name.get("prefix", [])),
        " ".join(name.get("suffix", [])),
    ]
    text = "^".join(parts).rstrip("^")
    return text or name.get("text")
