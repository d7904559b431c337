"""ADT (HL7 v2.5.1 ch. 3): patient demographics, and merges.

A01/A04/A05/A08/A31 and the other events that carry a current PID create or update the
Patient; A40 (and A34/A39, the same PID+MRG shape) merge two patients.
"""

from __future__ import annotations

from pacsbridge.formats.hl7v2.message import Message
from pacsbridge.hl7v2.inbound.applied import Applied
from pacsbridge.hl7v2.inbound.patient import merge_patients, patient_key, upsert_patient
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction

UPDATE_EVENTS = frozenset({"A01", "A02", "A03", "A04", "A05", "A06", "A07", "A08", "A28", "A31"})
MERGE_EVENTS = frozenset({"A40", "A39", "A34"})


def apply_adt(transaction: Transaction, message: Message, partner: Partner) -> Applied:
    applied = Applied()
    if message.trigger_event in MERGE_EVENTS:
        for stored in merge_patients(transaction, message, partner):
            applied.add(stored)
    else:
        applied.add(upsert_patient(transaction, message.segment("PID"), partner))
    pid = message.segment("PID")
    if pid is not None:
        applied.patient_id = patient_key(pid, partner).value
    return applied
