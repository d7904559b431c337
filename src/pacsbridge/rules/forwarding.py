"""Forwarding: an inbound HL7 message that a destination's rules match goes there unchanged.

Called by the HL7 face once the message is applied, in the same transaction, so it is
forwarded if and only if it was accepted. The bytes are those received (MSH-10 kept):
the receiver sees the sender's message, not ours. Messages of one patient keep their order,
with the other outbound messages of that patient.
"""

from __future__ import annotations

from pacsbridge.formats.hl7v2.message import Message
from pacsbridge.profiles.destination import Destination
from pacsbridge.store import Transaction, outbox


def forward_matching(transaction: Transaction, destinations: list[Destination],
                     message: Message, raw: bytes, patient: str | None) -> int:  # fmt: skip
    """Queue ``raw`` for every destination with a matching rule; how many were queued.

    ``patient`` is the Patient the message touched (``Patient/id``): forwarded messages
    then keep their order with the reports and notices of the same patient.
    """
    queued = 0
    for destination in destinations:
        if any(rule.matches(message) for rule in destination.forward):
            transaction.outbox_queued = True
            outbox.enqueue(transaction.connection, destination=destination.name,
                           partition_key=patient or f"hl7:{message.control_id}",
                           event="forward",
                           message_type=f"{message.message_code}^{message.trigger_event}",
                           control_id=message.control_id[:64], source=None, payload=raw,
                           now=transaction.now)  # fmt: skip
            queued += 1
    return queued
