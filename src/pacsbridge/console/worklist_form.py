"""The worklist item form: what staff type in, as a FHIR ServiceRequest and Patient.

The console adds no worklist rows of its own: an item is an imaging ServiceRequest with
the scheduled-procedure-step extension and identifiers of ``docs/mapping.md``, written
through the store like an order from the HIS, so the worklist projection and the
outbound rules follow as for any other source. Pure: form fields in, resources out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time
from typing import Any

from pacsbridge.formats.fhir.imaging_order import (
    REQUESTED_PROCEDURE_SYSTEM,
    ScheduledStep,
    identifier_of_type,
    read_step,
    requested_procedure_id,
    study_instance_uid,
    study_uid_identifier,
    typed_identifier,
    write_step,
)

SOURCE = "CONSOLE"  # as MSH-3 names the sender in identifier systems
MODALITIES = ("CT", "MR", "US", "CR", "DX", "MG", "NM", "PT", "XA", "RF", "OT")
PRIORITIES = ("routine", "urgent", "asap", "stat")
SEXES = {
    "": "Not given",
    "male": "Male",
    "female": "Female",
    "other": "Other",
    "unknown": "Unknown",
}
SCHEMES = {
    "LN": "http://loinc.org",
    "SCT": "http://snomed.info/sct",
    "RADLEX": "http://www.radlex.org",
    "L": "urn:pacsbridge:code:L",  # a local code (DICOM coding scheme designator L)
}
_AE = re.compile(r"[\x20-\x5b\x5d-\x7e]{1,16}")  # PS3.5 AE: 16 characters, no backslash


@dataclass
class WorklistForm:
    """The fields of the form, as text; ``patient`` is a Patient id when one was chosen."""

    patient: str = ""
    patient_id: str = ""
    issuer: str = ""
    family: str = ""
    given: str = ""
    birth_date: str = ""
    sex: str = ""
    accession: str = ""
    requested_procedure_id: str = ""
    procedure_code: str = ""
    procedure_scheme: str = "L"
    procedure: str = ""
    modality: str = "CT"
    station_ae: str = ""
    station_name: str = ""
    location: str = ""
    day: str = ""
    start: str = ""
    priority: str = "routine"
    performing_physician: str = ""
    referring_physician: str = ""
    sps_id: str = ""
    version: str = ""  # the ServiceRequest version edited, for If-Match


def from_fields(data: Mapping[str, Any]) -> WorklistForm:
    return WorklistForm(**{f.name: str(data.get(f.name, f.default) or "").strip()
                           for f in fields(WorklistForm)})  # fmt: skip


def from_order(order: dict[str, Any], version: int) -> WorklistForm:
    """The form of an existing item, for editing."""
    step = read_step(order)
    moment = order.get("occurrenceDateTime", "")
    day, _, clock = moment.partition("T")
    coding = ((order.get("code") or {}).get("coding") or [{}])[0]
    scheme = next((k for k, v in SCHEMES.items() if v == coding.get("system")), "L")
    return WorklistForm(
        patient=str((order.get("subject") or {}).get("reference", "")).removeprefix("Patient/"),
        accession=(identifier_of_type(order, "ACSN") or {}).get("value", ""),
        requested_procedure_id=requested_procedure_id(order) or "",
        procedure_code=coding.get("code", ""), procedure_scheme=scheme,
        procedure=(order.get("code") or {}).get("text") or coding.get("display", ""),
        modality=step.modality or "", station_ae=step.station_ae or "",
        station_name=step.station_name or "", location=step.location or "",
        day=day, start=clock[:5], priority=order.get("priority", "routine"),
        performing_physician=step.performing_physician or "",
        referring_physician=step.referring_physician or "", sps_id=step.sps_id or "",
        version=str(version),
    )  # fmt: skip


def problems(form: WorklistForm) -> dict[str, str]:
    """What is wrong with the form, by field; empty when it can be saved."""
    found: dict[str, str] = {}
    if not form.patient and not form.patient_id:
        found["patient_id"] = "Enter the patient's ID (or start from a patient's page)."
    if not form.patient and form.patient_id and not form.family:
        found["family"] = "Enter the family name (used when the patient is new)."
    if form.birth_date and not _is_date(form.birth_date):
        found["birth_date"] = "Use the form YYYY-MM-DD."
    if form.sex not in SEXES:
        found["sex"] = "Choose one of the listed values."
    if not form.procedure:
        found["procedure"] = "Describe the procedure (it is the worklist's description)."
    if form.procedure_scheme not in SCHEMES:
        found["procedure_scheme"] = "Choose one of the listed coding schemes."
    if not form.modality or not re.fullmatch(r"[A-Z]{2,4}", form.modality):
        found["modality"] = "Choose the modality (a DICOM code such as CT)."
    if form.station_ae and not _AE.fullmatch(form.station_ae):
        found["station_ae"] = "An AE title has at most 16 characters and no backslash."
    if not _is_date(form.day):
        found["day"] = "Enter the scheduled day."
    if not re.fullmatch(r"\d\d:\d\d", form.start) or not _is_time(form.start):
        found["start"] = "Enter the scheduled time as HH:MM."
    if form.priority not in PRIORITIES:
        found["priority"] = "Choose one of the listed priorities."
    for name in ("accession", "requested_procedure_id", "sps_id"):
        if len(getattr(form, name)) > 16:
            found[name] = "At most 16 characters (DICOM SH)."
    return found


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def _is_time(text: str) -> bool:
    try:
        time.fromisoformat(text)
    except ValueError:
        return False
    return True


def new_accession(now: datetime) -> str:
    """An accession number for an item added without one: ``C`` + time + 4 random hex."""
    return f"C{now:%y%m%d%H%M}{uuid.uuid4().hex[:4].upper()}"


def patient_system(form: WorklistForm) -> str:
    return f"urn:pacsbridge:id:{form.issuer or SOURCE}"


def patient_body(form: WorklistForm) -> dict[str, Any]:
    """A new Patient from the form's demographics."""
    identifier: dict[str, Any] = {"system": patient_system(form), "value": form.patient_id}
    if form.issuer:
        identifier["assigner"] = {"display": form.issuer}
    body: dict[str, Any] = {"resourceType": "Patient", "identifier": [identifier]}
    name = {k: v for k, v in (("family", form.family),
                              ("given", [form.given] if form.given else None)) if v}  # fmt: skip
    if name:
        body["name"] = [name]
    if form.birth_date:
        body["birthDate"] = form.birth_date
    if form.sex:
        body["gender"] = form.sex
    return body


def order_body(form: WorklistForm, patient_ref: str, current: dict[str, Any] | None,
               accession: str) -> dict[str, Any]:  # fmt: skip
    """The ServiceRequest of the item: ``current`` updated, or a new active order."""
    body = dict(current or {"resourceType": "ServiceRequest", "status": "active",
                            "intent": "order"})  # fmt: skip
    body["subject"] = {"reference": patient_ref}
    scheduled = datetime.combine(date.fromisoformat(form.day), time.fromisoformat(form.start))
    body["occurrenceDateTime"] = scheduled.astimezone().isoformat(timespec="seconds")
    body["priority"] = form.priority
    code: dict[str, Any] = {"text": form.procedure}
    if form.procedure_code:
        code["coding"] = [{"system": SCHEMES[form.procedure_scheme], "code": form.procedure_code,
                           "display": form.procedure}]  # fmt: skip
    body["code"] = code
    body["identifier"] = _identifiers(form, current or {}, accession)
    step = read_step(current) if current else ScheduledStep()
    for name in ("sps_id", "modality", "station_ae", "station_name", "location",
                 "performing_physician", "referring_physician"):  # fmt: skip
        setattr(step, name, getattr(form, name) or None)
    step.description = form.procedure
    return write_step(body, step)


def _identifiers(form: WorklistForm, current: dict[str, Any], accession: str) -> list[Any]:
    """Accession, requested procedure ID and study UID replaced; any others kept."""
    kept = [i for i in current.get("identifier", [])
            if i is not identifier_of_type(current, "ACSN")
            and i.get("system") not in ("urn:dicom:uid", REQUESTED_PROCEDURE_SYSTEM)]  # fmt: skip
    old = identifier_of_type(current, "ACSN")
    system = (old or {}).get("system") or f"urn:pacsbridge:accession:{SOURCE}"
    result = [typed_identifier("ACSN", accession, system)]
    if form.requested_procedure_id:
        result.append({"system": REQUESTED_PROCEDURE_SYSTEM, "value": form.requested_procedure_id})
    uid = study_instance_uid(current) or f"2.25.{uuid.uuid4().int}"
    return [*result, study_uid_identifier(uid), *kept]


def cancelled(order: dict[str, Any]) -> dict[str, Any]:
    """The order revoked, its step CANCELED: ORC-1 CA's effect (docs/mapping.md)."""
    step = read_step(order)
    step.status = "CANCELED"
    return write_step({**order, "status": "revoked"}, step)
