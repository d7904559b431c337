"""An imaging order's facts, whatever message carried them, applied to a ServiceRequest.

ORM^O01 and OMI^O23 read their fields into :class:`OrderFacts` (``orm.py``, ``omi.py``);
this module applies the order control code (HL7 v2.5.1 table 0119; IHE RAD TF-2 4.1.4):
NW new, XO change, CA/DC cancel, HD hold, RL release, SC status change (ORC-5 IP/CM/CA).
The worklist projection follows the ServiceRequest in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from pacsbridge.errors import UnknownKey
from pacsbridge.formats.fhir.imaging_order import (
    REQUESTED_PROCEDURE_SYSTEM,
    ScheduledStep,
    identifier_of_type,
    read_step,
    study_instance_uid,
    study_uid_identifier,
    typed_identifier,
    write_step,
)
from pacsbridge.hl7v2.inbound.fields import TableValueNotFound
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction
from pacsbridge.store.resources import StoredResource

CANCEL_CODES = {"CA", "DC", "OC", "OD", "CR"}
STATUS_CHANGE = {  # ORC-5 of an SC → (ServiceRequest.status, SPS status)
    "SC": ("active", "SCHEDULED"), "IP": ("active", "STARTED"), "A": ("active", "STARTED"),
    "CM": ("completed", "COMPLETED"), "CA": ("revoked", "CANCELED"),
    "DC": ("revoked", "DISCONTINUED"), "HD": ("on-hold", "SCHEDULED"),
}  # fmt: skip


@dataclass
class OrderFacts:
    control: str
    order_status: str = ""
    placer: str | None = None
    placer_namespace: str | None = None
    filler: str | None = None
    filler_namespace: str | None = None
    accession: str | None = None
    requested_procedure_id: str | None = None
    study_instance_uid: str | None = None
    code: dict[str, Any] | None = None  # requested procedure, CodeableConcept
    start: str | None = None  # FHIR dateTime
    priority: str | None = None
    requester: dict[str, Any] | None = None
    authored: str | None = None
    reason: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    step: ScheduledStep = field(default_factory=ScheduledStep)


def apply_order(
    transaction: Transaction, facts: OrderFacts, patient_id: str, sender: str, partner: Partner
) -> StoredResource:
    _apply_partner_rules(facts, partner)
    key = facts.placer or facts.filler or facts.accession
    if key:  # the same order sent twice at once must not become two
        transaction.lock_identifier("ServiceRequest", key)
    existing = find_order(transaction, facts)
    control = facts.control.upper()
    if control == "NW" and existing is None:
        return transaction.create(order_body(facts, patient_id, sender, None))
    if control in ("NW", "XO", "RL", "HD", "SC") or control in CANCEL_CODES:
        if existing is None:
            where = "ORC.2" if facts.placer else "ORC.3"
            raise UnknownKey(f"order {facts.placer or facts.filler or '?'} is not known", where)
        body = existing.resource
        if control in ("NW", "XO"):
            body = order_body(facts, patient_id, sender, body)
        elif control in CANCEL_CODES:
            body = _with_status(body, "revoked", "CANCELED")
        elif control == "HD":
            body = _with_status(body, "on-hold", None)
        elif control == "RL":
            body = _with_status(body, "active", None)
        else:
            if facts.order_status.upper() not in STATUS_CHANGE:
                raise TableValueNotFound(
                    f"order status {facts.order_status!r} is not in HL7 table 0038", "ORC.5"
                )
            body = _with_status(body, *STATUS_CHANGE[facts.order_status.upper()])
        return transaction.update(body)[0]
    raise TableValueNotFound(f"order control {facts.control!r} is not supported", "ORC.1")


def _apply_partner_rules(facts: OrderFacts, partner: Partner) -> None:
    """Per-sender rules: local procedure codes, and station AE/name/location by modality."""
    step = facts.step
    for coding in (facts.code or {}).get("coding", []):
        meaning = partner.procedure_codes.get(coding.get("code", ""))
        if meaning:
            step.modality = step.modality or meaning.modality
            step.description = step.description or meaning.description
            step.station_ae = step.station_ae or meaning.station_ae
    if step.modality:
        step.station_ae = step.station_ae or partner.station_ae.get(step.modality)
        step.station_name = step.station_name or partner.station_name.get(step.modality)
        step.location = step.location or partner.location.get(step.modality)


def find_order(transaction: Transaction, facts: OrderFacts) -> StoredResource | None:
    """The ServiceRequest named by placer, filler or accession number, in that order."""
    wanted = [(code, value) for code, value in (("PLAC", facts.placer), ("FILL", facts.filler),
              ("ACSN", facts.accession)) if value]  # fmt: skip
    if not wanted:
        return None
    ids = transaction.find_by_identifier("ServiceRequest", [value for _, value in wanted])
    candidates = [transaction.read("ServiceRequest", res_id) for res_id in ids]
    for code, value in wanted:  # one query for all three, the standard's order kept
        for stored in candidates:
            typed = identifier_of_type(stored.resource, code)
            if typed is not None and typed.get("value") == value:
                return stored
    return None


def find_by_identifier(
    transaction: Transaction, code: str, value: str | None
) -> StoredResource | None:
    if not value:
        return None
    for res_id in transaction.find_by_identifier("ServiceRequest", value):
        stored = transaction.read("ServiceRequest", res_id)
        typed = identifier_of_type(stored.resource, code)
        if typed is not None and typed.get("value") == value:
            return stored
    return None


def order_body(
    facts: OrderFacts, patient_id: str, sender: str, current: dict[str, Any] | None
) -> dict[str, Any]:
    body: dict[str, Any] = dict(current or {"resourceType": "ServiceRequest"})
    body["status"] = "active" if not current else body.get("status", "active")
    body["intent"] = "order"
    body["subject"] = {"reference": f"Patient/{patient_id}"}
    body["identifier"] = _identifiers(facts, sender, current)
    for key, value in (("code", facts.code), ("occurrenceDateTime", facts.start),
                       ("priority", facts.priority), ("requester", facts.requester),
                       ("authoredOn", facts.authored)):  # fmt: skip
        if value:
            body[key] = value
    if facts.reason:
        body["reasonCode"] = [facts.reason]
    if facts.notes:
        body["note"] = [{"text": text} for text in facts.notes]
    step = read_step(current) if current else ScheduledStep()
    for name, value in vars(facts.step).items():
        if value and not (name == "status" and current):
            setattr(step, name, value)
    if not step.description and facts.code:
        step.description = facts.code.get("text")
    return write_step(body, step)


def _identifiers(facts: OrderFacts, sender: str, current: dict[str, Any] | None) -> list[Any]:
    ours = {"PLAC", "FILL", "ACSN"}
    kept = [
        i for i in (current or {}).get("identifier", [])
        if not any(c.get("code") in ours for c in i.get("type", {}).get("coding", []))
        and i.get("system") not in ("urn:dicom:uid", REQUESTED_PROCEDURE_SYSTEM)
    ]  # fmt: skip
    result = []
    previous = current or {}
    for code, value, system in (
        ("PLAC", facts.placer, f"urn:pacsbridge:placer:{facts.placer_namespace or sender}"),
        ("FILL", facts.filler, f"urn:pacsbridge:filler:{facts.filler_namespace or sender}"),
        ("ACSN", facts.accession, f"urn:pacsbridge:accession:{sender}"),
    ):
        old = identifier_of_type(previous, code)
        if value:
            result.append(typed_identifier(code, value, system))
        elif old:
            result.append(old)
    rp_id = facts.requested_procedure_id or _requested_procedure(previous)
    if rp_id:
        result.append({"system": REQUESTED_PROCEDURE_SYSTEM, "value": rp_id})
    uid = facts.study_instance_uid or study_instance_uid(previous) or f"2.25.{uuid.uuid4().int}"
    result.append(study_uid_identifier(uid))
    return [*result, *kept]


def _requested_procedure(resource: dict[str, Any]) -> str | None:
    for identifier in resource.get("identifier", []):
        if identifier.get("system") == REQUESTED_PROCEDURE_SYSTEM:
            return identifier.get("value")
    return None


def _with_status(body: dict[str, Any], status: str, step_status: str | None) -> dict[str, Any]:
    updated = {**body, "status": status}
    if step_status:
        step = read_step(updated)
        step.status = step_status
        updated = write_step(updated, step)
    return updated
