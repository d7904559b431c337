"""ORM^O01 (HL7 v2.3.1 ch. 4, IHE RAD-2/RAD-3): Patient and ServiceRequest per ORC/OBR.

Where each worklist fact lives is DESIGN.md's table; the places a sender moves (accession,
modality, requested procedure and SPS ids, study UID) come from its profile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pacsbridge.errors import MissingField
from pacsbridge.formats.hl7v2.address import Address
from pacsbridge.formats.hl7v2.message import Field, Message, Segment
from pacsbridge.hl7v2.inbound.applied import Applied
from pacsbridge.hl7v2.inbound.fields import (
    PRIORITY,
    codeable_concept,
    first_field,
    hl7_datetime,
    person_pn,
    practitioner_reference,
)
from pacsbridge.hl7v2.inbound.orders import OrderFacts, apply_order
from pacsbridge.hl7v2.inbound.patient import upsert_patient
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction


@dataclass
class OrderGroup:
    """One ORC with the segments that follow it until the next ORC."""

    segments: dict[str, Segment] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def get(self, name: str) -> Segment | None:
        return self.segments.get(name)

    def field(self, address: str) -> Field | None:
        """The field repetition at ``address`` (components ignored), if present."""
        where = Address.parse(address)
        segment = self.segments.get(where.segment)
        repetitions = segment.repetitions(where.field) if segment is not None else []
        index = (where.repetition or 1) - 1
        if index >= len(repetitions) or repetitions[index].is_empty:
            return None
        return repetitions[index]

    def read(self, address: str) -> str:
        where = Address.parse(address)
        segment = self.segments.get(where.segment)
        if segment is None:
            return ""
        return segment.value(where.field, where.component or 1, where.subcomponent or 1,
                             where.repetition or 1)  # fmt: skip


def order_groups(message: Message) -> list[OrderGroup]:
    groups: list[OrderGroup] = []
    for segment in message.segments:
        if segment.name == "ORC":
            groups.append(OrderGroup({"ORC": segment}))
        elif groups and segment.name == "NTE":
            groups[-1].notes.append(segment.value(3))
        elif groups and segment.name not in groups[-1].segments:
            groups[-1].segments[segment.name] = segment
    if not groups:
        raise MissingField("the order has no ORC segment", "ORC")
    return groups


def order_facts(group: OrderGroup, message: Message, partner: Partner) -> OrderFacts:
    orc, obr = group.get("ORC"), group.get("OBR")
    zone = partner.timezone

    def both(orc_field: int, obr_field: int, component: int = 1) -> str:
        value = orc.value(orc_field, component) if orc else ""
        return value or (obr.value(obr_field, component) if obr else "")

    control = orc.value(1) if orc else ""
    if not control:
        raise MissingField("ORC-1 order control is empty", "ORC.1")
    facts = OrderFacts(control=control, order_status=orc.value(5) if orc else "")
    facts.placer, facts.placer_namespace = both(2, 2) or None, both(2, 2, 2) or None
    facts.filler, facts.filler_namespace = both(3, 3) or None, both(3, 3, 2) or None
    facts.accession = group.read(partner.accession) or None
    facts.requested_procedure_id = group.read(partner.requested_procedure_id) or None
    facts.study_instance_uid = group.read(partner.study_instance_uid) or None
    procedure = first_field(obr, 44) or first_field(obr, 4)
    facts.code = codeable_concept(procedure) if procedure else None
    protocol = first_field(obr, 4)
    step = facts.step
    step.sps_id = group.read(partner.sps_id) or None
    step.modality = group.read(partner.modality) or None
    if partner.scheduled_station_ae:
        step.station_ae = group.read(partner.scheduled_station_ae) or None
    if protocol is not None and protocol.component(1):
        step.protocol_code = (codeable_concept(protocol) or {}).get("coding", [None])[0]
        step.description = protocol.component(2) or None
    start, start_where = _first(
        (orc, 7, 4, "ORC.7.4"),
        (obr, 27, 4, "OBR.27.4"),
        (group.get("TQ1"), 7, 1, "TQ1.7"),
        (obr, 36, 1, "OBR.36"),
    )
    if partner.scheduled_start and group.read(partner.scheduled_start):
        start, start_where = group.read(partner.scheduled_start), partner.scheduled_start
    facts.start = hl7_datetime(start, start_where, zone) if start else None
    priority, _ = _first((orc, 7, 6, ""), (obr, 27, 6, ""), (group.get("TQ1"), 9, 1, ""))
    facts.priority = PRIORITY.get(priority.upper()) if priority else None
    requester = group.field(partner.requesting_physician) or first_field(orc, 12)
    facts.requester = practitioner_reference(requester) if requester else None
    pv1 = message.segment("PV1")
    referring = first_field(pv1, 8)
    step.referring_physician = person_pn(referring) if referring else None
    performer = first_field(obr, 34)
    if performer is not None:
        names = [performer.component(1, n) for n in (2, 3)]
        step.performing_physician = "^".join(names).rstrip("^") or None
    reason = first_field(obr, 31)
    facts.reason = codeable_concept(reason) if reason else None
    facts.notes = [note for note in group.notes if note]
    authored = orc.value(9) if orc else ""
    facts.authored = hl7_datetime(authored, "ORC.9", zone) if authored else None
    return facts


def _first(*places: tuple[Segment | None, int, int, str]) -> tuple[str, str]:
    for segment, number, component, where in places:
        if segment is not None and segment.value(number, component):
            return segment.value(number, component), where
    return "", ""


def apply_orm(transaction: Transaction, message: Message, partner: Partner) -> Applied:
    return apply_order_groups(transaction, message, partner)


def apply_order_groups(
    transaction: Transaction,
    message: Message,
    partner: Partner,
    refine: Callable[[OrderGroup, OrderFacts], None] | None = None,
) -> Applied:
    """The patient, then each ORC group's order; ``refine`` adds what a message type adds."""
    applied = Applied()
    patient = upsert_patient(transaction, message.segment("PID"), partner)
    applied.add(patient)
    sender = message.sending_application or message.sending_facility or "unknown"
    for group in order_groups(message):
        facts = order_facts(group, message, partner)
        if refine is not None:
            refine(group, facts)
        applied.accession = applied.accession or facts.accession
        applied.add(apply_order(transaction, facts, patient.id, sender, partner))
    return applied
