"""SIU (HL7 v2.5.1 ch. 10): appointments; the order's scheduled start follows them.

S12 booked, S13 rescheduled, S14 modified, S15 cancelled, S26 no-show. The appointment is
linked to its ServiceRequest when SCH-26/27 (or an ORC/OBR in the message) names the
order, and its start becomes the order's ``occurrenceDateTime``, so the worklist follows.
"""

from __future__ import annotations

from typing import Any

from pacsbridge.errors import BadValue, MissingField, UnknownKey
from pacsbridge.formats.hl7v2.message import Message, Segment
from pacsbridge.hl7v2.inbound.applied import Applied
from pacsbridge.hl7v2.inbound.fields import codeable_concept, first_field, hl7_datetime
from pacsbridge.hl7v2.inbound.orders import find_by_identifier
from pacsbridge.hl7v2.inbound.patient import upsert_patient
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction
from pacsbridge.store.resources import StoredResource

STATUS = {"S12": "booked", "S13": "booked", "S14": "booked", "S15": "cancelled",
          "S26": "noshow"}  # fmt: skip


def apply_siu(transaction: Transaction, message: Message, partner: Partner) -> Applied:
    applied = Applied()
    sch = message.segment("SCH")
    if sch is None:
        raise MissingField("an SIU message needs an SCH segment", "SCH")
    placer, filler = sch.value(1), sch.value(2)
    if not placer and not filler:
        raise MissingField("SCH-1 or SCH-2 must name the appointment", "SCH.1")
    patient = upsert_patient(transaction, message.segment("PID"), partner)
    applied.add(patient)
    sender = message.sending_application or "unknown"
    existing = _find_appointment(transaction, placer, filler)
    event = message.trigger_event
    if existing is None and event in ("S15", "S26"):
        raise UnknownKey(f"appointment {placer or filler} is not known", "SCH.1")
    body = dict(existing.resource) if existing else {"resourceType": "Appointment"}
    body["status"] = STATUS[event]
    body["identifier"] = [i for i in (
        {"system": f"urn:pacsbridge:appointment:{sender}", "value": placer} if placer else None,
        {"system": "urn:pacsbridge:appointment:filler", "value": filler} if filler else None,
    ) if i]  # fmt: skip
    start, end, minutes = _timing(message, sch, partner)
    if start:
        body["start"] = start
        body.pop("end", None)
    if end:
        body["end"] = end
    if minutes:
        body["minutesDuration"] = minutes
    service = first_field(message.segment("AIS"), 3)
    if service is not None and codeable_concept(service):
        body["serviceType"] = [codeable_concept(service)]
    reason = first_field(sch, 7)
    if reason is not None and codeable_concept(reason):
        body["reasonCode"] = [codeable_concept(reason)]
    body["participant"] = _participants(message, patient.id)
    order = _find_order(transaction, message, sch)
    if order is not None:
        body["basedOn"] = [{"reference": f"ServiceRequest/{order.id}"}]
    stored = transaction.update(body)[0] if existing else transaction.create(body)
    applied.add(stored)
    moved = order is not None and start and order.resource.get("occurrenceDateTime") != start
    if moved and STATUS[event] == "booked":
        assert order is not None
        applied.add(transaction.update({**order.resource, "occurrenceDateTime": start})[0])
    return applied


def _find_appointment(transaction: Transaction, placer: str, filler: str) -> StoredResource | None:
    for value in (placer, filler):
        if value:
            found = transaction.find_by_identifier("Appointment", value)
            if found:
                return transaction.read("Appointment", found[0])
    return None


def _timing(
    message: Message, sch: Segment, partner: Partner
) -> tuple[str | None, str | None, int | None]:
    """Start and end from AIS-4/TQ1-7 (v2.5) or SCH-11.4/11.5 (v2.3), as FHIR instants."""
    candidates = [(message.segment("AIS"), 4, 1, "AIS.4"), (message.segment("TQ1"), 7, 1, "TQ1.7"),
                  (sch, 11, 4, "SCH.11.4")]  # fmt: skip
    start = end = None
    for segment, number, component, where in candidates:
        text = segment.value(number, component) if segment is not None else ""
        if text:
            start = _instant(text, where, partner)
            break
    end_text = sch.value(11, 5) or (message.segment("TQ1").value(8) if message.segment("TQ1")
                                    else "")  # fmt: skip
    if end_text:
        end = _instant(end_text, "SCH.11.5", partner)
    duration = sch.value(9) or (message.segment("AIS").value(7) if message.segment("AIS") else "")
    minutes = int(duration) if duration.isdigit() and 0 < int(duration) < 100_000 else None
    return start, end, minutes


def _instant(text: str, where: str, partner: Partner) -> str:
    value = hl7_datetime(text, where, partner.timezone)
    if not value or "T" not in value:
        raise BadValue(f"{text!r} needs a time of day to be an appointment time", where)
    return value


def _participants(message: Message, patient_id: str) -> list[dict[str, Any]]:
    people = [{"actor": {"reference": f"Patient/{patient_id}"}, "status": "accepted"}]
    for name, number in (("AIP", 3), ("AIL", 3)):
        for segment in message.all(name):
            text = " ".join(p for p in segment.repetitions(number)[0].components if p) if (
                segment.repetitions(number)) else ""  # fmt: skip
            if text:
                people.append({"actor": {"display": text}, "status": "accepted"})
    return people


def _find_order(transaction: Transaction, message: Message, sch: Segment) -> StoredResource | None:
    orc, obr = message.segment("ORC"), message.segment("OBR")
    candidates = [("PLAC", sch.value(26)), ("FILL", sch.value(27))]
    for segment in (orc, obr):
        if segment is not None:
            candidates += [("PLAC", segment.value(2)), ("FILL", segment.value(3))]
    for code, value in candidates:
        found = find_by_identifier(transaction, code, value)
        if found is not None:
            return found
    return None
