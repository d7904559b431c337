"""PID → Patient: identifiers with their assigning authority, names, birth date, sex,
address, telecom; created or updated by identifier, and merged on ADT^A40.

The patient identifier is the PID-3 repetition the sender's profile names (by assigning
authority), else the first one (IHE RAD TF-2: PID-3.1 with issuer PID-3.4).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pacsbridge.errors import BadValue, MissingField, UnknownKey
from pacsbridge.formats.hl7v2.message import Field, Message, Segment
from pacsbridge.hl7v2.inbound.fields import (
    address,
    contact_points,
    hl7_date,
    hl7_datetime,
    human_name,
    sex,
)
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction
from pacsbridge.store.resources import StoredResource

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
OWNED_CHOICES = ("deceased", "multipleBirth")
REFERRING = ("ServiceRequest", "Appointment", "ImagingStudy", "DiagnosticReport", "Procedure",
             "Observation")  # fmt: skip


@dataclass(frozen=True)
class PatientKey:
    system: str
    value: str


def identifier(cx: Field, partner: Partner) -> dict[str, Any]:
    """CX: id^check^scheme^authority(HD: namespace&universal&type)^type code."""
    authority = cx.component(4, 1)
    system = partner.system_for(authority, cx.component(4, 2), cx.component(4, 3))
    result: dict[str, Any] = {}
    if cx.component(5):
        result["type"] = {"coding": [{"system": V2_0203, "code": cx.component(5)}]}
    result["system"] = system
    result["value"] = cx.component(1)
    if authority or partner.default_authority:
        result["assigner"] = {"display": authority or partner.default_authority}
    return result


def patient_key(pid: Segment, partner: Partner, field_number: int = 3) -> PatientKey:
    """The identifier that names this patient for this sender."""
    candidates = [cx for cx in pid.repetitions(field_number) if cx.component(1)]
    if not candidates:
        raise MissingField("the patient identifier list is empty", f"PID.{field_number}")
    chosen = candidates[0]
    if partner.patient_id_authority:
        for cx in candidates:
            if partner.patient_id_authority in (cx.component(4, 1), cx.component(4, 2)):
                chosen = cx
                break
    found = identifier(chosen, partner)
    return PatientKey(found["system"], found["value"])


def patient_body(pid: Segment, partner: Partner) -> dict[str, Any]:
    key = patient_key(pid, partner)
    identifiers = [identifier(cx, partner) for cx in pid.repetitions(3) if cx.component(1)]
    identifiers.sort(key=lambda i: (i["system"], i["value"]) != (key.system, key.value))
    body: dict[str, Any] = {"resourceType": "Patient", "identifier": identifiers}
    names = [n for n in (human_name(f) for f in pid.repetitions(5)) if n]
    if names:
        body["name"] = names
    telecom = contact_points(pid.repetitions(13), "home")
    telecom += contact_points(pid.repetitions(14), "work")
    if telecom:
        body["telecom"] = telecom
    gender = sex(pid.value(8), "PID.8")
    if gender:
        body["gender"] = gender
    birth = hl7_date(pid.value(7)[:8], "PID.7")
    if birth:
        body["birthDate"] = birth
    death = pid.value(29)
    if death:
        body["deceasedDateTime"] = hl7_datetime(death, "PID.29", partner.timezone)
    elif pid.value(30) in ("Y", "N"):
        body["deceasedBoolean"] = pid.value(30) == "Y"
    addresses = [a for a in (address(f) for f in pid.repetitions(11)) if a]
    if addresses:
        body["address"] = addresses
    return body


def upsert_patient(
    transaction: Transaction, pid: Segment | None, partner: Partner
) -> StoredResource:
    """Create the patient, or update it with the message's demographics."""
    if pid is None:
        raise MissingField("the message has no PID segment", "PID")
    body = patient_body(pid, partner)
    key = patient_key(pid, partner)
    found = transaction.find_or_lock_identifier("Patient", key.value, key.system)
    if not found:
        return transaction.create(body)
    stored = transaction.read("Patient", found[0])
    current = stored.resource
    # The message owns the demographics it carries: drop the store's choice variants
    # (deceased[x], multipleBirth[x]) before taking the message's.
    kept = {k: v for k, v in current.items() if not k.startswith(OWNED_CHOICES)}
    merged = {**kept, **body, "identifier": _merge_identifiers(current, body)}
    if merged == current:
        return stored
    stored, _ = transaction.update(merged)
    return stored


def _merge_identifiers(current: dict[str, Any], body: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's identifiers first, then the ones the store knew and the message omits."""
    seen = {(i.get("system"), i.get("value")) for i in body["identifier"]}
    kept = [i for i in current.get("identifier", []) if (i.get("system"), i.get("value"))
            not in seen]  # fmt: skip
    return [*body["identifier"], *kept]


def find_patient(transaction: Transaction, key: PatientKey) -> StoredResource | None:
    found = transaction.find_by_identifier("Patient", key.value, key.system)
    return transaction.read("Patient", found[0]) if found else None


def merge_patients(
    transaction: Transaction, message: Message, partner: Partner
) -> list[StoredResource]:
    """ADT^A40: the MRG patient is replaced by the PID patient, and what pointed at it moves."""
    pid, mrg = message.segment("PID"), message.segment("MRG")
    if mrg is None:
        raise MissingField("ADT^A40 needs an MRG segment", "MRG")
    survivor = upsert_patient(transaction, pid, partner)
    old_key = patient_key(mrg, partner, field_number=1)
    old = find_patient(transaction, old_key)
    if old is None:
        raise UnknownKey(f"patient {old_key.value} to merge is not known", "MRG.1")
    if old.id == survivor.id:
        raise BadValue("a patient cannot be merged into itself", "MRG.1")
    if _replaced_by(old.resource) == survivor.id or _replaced_by(survivor.resource) == old.id:
        raise BadValue("circular merge: the surviving patient was merged into this one", "MRG.1")
    touched = [survivor]
    old_body = {**old.resource, "active": False}
    old_body["link"] = [
        *old_body.get("link", []),
        {"other": {"reference": f"Patient/{survivor.id}"}, "type": "replaced-by"},
    ]
    touched.append(transaction.update(old_body)[0])
    survivor_body = dict(transaction.read("Patient", survivor.id).resource)
    survivor_body["link"] = [
        *survivor_body.get("link", []),
        {"other": {"reference": f"Patient/{old.id}"}, "type": "replaces"},
    ]
    touched.append(transaction.update(survivor_body)[0])
    touched += _move_references(transaction, old.id, survivor.id)
    return touched


def _replaced_by(patient: dict[str, Any]) -> str | None:
    for link in patient.get("link", []):
        if link.get("type") == "replaced-by":
            return str(link["other"].get("reference", "")).removeprefix("Patient/")
    return None


def _move_references(transaction: Transaction, old_id: str, new_id: str) -> list[StoredResource]:
    moved = []
    old_ref, new_ref = f"Patient/{old_id}", f"Patient/{new_id}"
    for res_type in REFERRING:
        query = transaction.parse(res_type, [("patient", old_id), ("_count", "1000")])
        for stored in transaction.search(query).matches:
            body = _replace_reference(stored.resource, old_ref, new_ref)
            moved.append(transaction.update(body)[0])
    return moved


def _replace_reference(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: (new if k == "reference" and v == old else _replace_reference(v, old, new))
                for k, v in value.items()}  # fmt: skip
    if isinstance(value, list):
        return [_replace_reference(item, old, new) for item in value]
    return value
