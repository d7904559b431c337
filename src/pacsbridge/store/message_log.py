"""The HL7 message log: every message's raw bytes, what it was, what we answered.

A row is written in the same transaction as the message's effects, so a logged AA means
the effects are committed. The dedup key (sender + MSH-10) is set for messages applied
or refused for their content: a resend finds the stored ACK and is not applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from pacsbridge.errors import DuplicateKey
from pacsbridge.store.driver import DriverStatement
from pacsbridge.store.resources import utc_now
from pacsbridge.store.tables import hl7_message

FINAL_OUTCOMES = frozenset({"AA", "AE", "CA", "CE"})
_INSERT_MESSAGE = DriverStatement(insert(hl7_message).returning(hl7_message.c.pk))


class AlreadyReceived(DuplicateKey):
    """Another copy of this message (same sender and MSH-10) was logged first."""


@dataclass(frozen=True)
class LoggedMessage:
    pk: int
    received_at: datetime
    direction: str
    peer: str | None
    sending_application: str | None
    sending_facility: str | None
    receiving_application: str | None
    receiving_facility: str | None
    message_type: str | None
    control_id: str | None
    patient_id: str | None
    accession: str | None
    charset: str | None
    outcome: str
    error: str | None
    resources: list[str]
    raw: bytes
    ack: bytes | None


@dataclass
class MessageFacts:
    """What is known of a message before and after it is applied."""

    peer: str | None = None
    sending_application: str | None = None
    sending_facility: str | None = None
    receiving_application: str | None = None
    receiving_facility: str | None = None
    message_type: str | None = None
    control_id: str | None = None
    patient_id: str | None = None
    accession: str | None = None
    charset: str | None = None


def dedup_key(facts: MessageFacts) -> str | None:
    if not facts.control_id:
        return None
    return "|".join((facts.sending_application or "", facts.sending_facility or "",
                     facts.control_id))[:600]  # fmt: skip


def stored_ack(connection: Connection, key: str | None) -> bytes | None:
    """The ACK already sent for this sender and control ID, if it was final."""
    if key is None:
        return None
    return connection.execute(
        select(hl7_message.c.ack).where(hl7_message.c.dedup_key == key)
    ).scalar_one_or_none()


def record(
    connection: Connection,
    facts: MessageFacts,
    *,
    raw: bytes,
    ack: bytes | None,
    outcome: str,
    error: str | None = None,
    resources: list[str] | None = None,
    direction: str = "in",
    dedup: bool = True,
) -> int:
    """Log one message; ``dedup=False`` for a reprocessed copy (the original holds the key)."""
    final = outcome in FINAL_OUTCOMES and direction == "in" and dedup
    key = dedup_key(facts) if final else None
    values: dict[str, Any] = {k: _cut(v) for k, v in vars(facts).items()}
    try:
        return _insert(connection, values, raw, ack, outcome, error, resources, direction, key)
    except IntegrityError as exc:
        raise AlreadyReceived(f"message {facts.control_id} was already received") from exc


def _insert(
    connection: Connection, values: dict[str, Any], raw: bytes, ack: bytes | None, outcome: str,
    error: str | None, resources: list[str] | None, direction: str, key: str | None,
) -> int:  # fmt: skip
    row = {"received_at": utc_now(), "direction": direction, "outcome": outcome, "error": error,
           "resources": orjson.dumps(resources).decode() if resources else None,
           "raw": raw, "ack": ack, "dedup_key": key, **values}  # fmt: skip
    return int(_INSERT_MESSAGE.scalar(connection, row))


def _cut(value: str | None) -> str | None:
    return value[:180] if isinstance(value, str) else value


def _logged(row: Any) -> LoggedMessage:
    data = row._mapping
    return LoggedMessage(
        **{k: data[k] for k in LoggedMessage.__dataclass_fields__ if k != "resources"},
        resources=orjson.loads(data["resources"]) if data["resources"] else [],
    )


def get_message(connection: Connection, pk: int) -> LoggedMessage | None:
    row = connection.execute(select(hl7_message).where(hl7_message.c.pk == pk)).first()
    return _logged(row) if row else None


def search_messages(
    connection: Connection,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    sender: str | None = None,
    message_type: str | None = None,
    patient_id: str | None = None,
    accession: str | None = None,
    control_id: str | None = None,
    outcome: str | None = None,
    before_pk: int | None = None,
    limit: int = 50,
) -> list[LoggedMessage]:
    """Newest first; ``before_pk`` pages back. ``message_type`` may be ``ORM`` or ``ORM^O01``."""
    c = hl7_message.c
    conditions = []
    if since:
        conditions.append(c.received_at >= since)
    if until:
        conditions.append(c.received_at <= until)
    if sender:
        conditions.append((c.sending_application == sender) | (c.sending_facility == sender))
    if message_type:
        column = c.message_type if "^" in message_type else func.substr(c.message_type, 1, 3)
        conditions.append(column == message_type)
    for column, value in ((c.patient_id, patient_id), (c.accession, accession),
                          (c.control_id, control_id), (c.outcome, outcome)):  # fmt: skip
        if value:
            conditions.append(column == value)
    if before_pk:
        conditions.append(c.pk < before_pk)
    rows = connection.execute(
        select(hl7_message).where(*conditions).order_by(c.pk.desc()).limit(limit)
    ).all()
    return [_logged(row) for row in rows]


def purge_messages(connection: Connection, older_than: datetime) -> int:
    """Delete messages received before ``older_than``; ``Database.reclaim_space`` frees it."""
    result = connection.execute(delete(hl7_message).where(hl7_message.c.received_at < older_than))
    return result.rowcount or 0
