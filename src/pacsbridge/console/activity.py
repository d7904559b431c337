"""The dashboard's traffic figures: messages per minute, and the latest failures.

Inbound messages are the HL7 message log (``hl7_message.received_at``, one row per message
received, AE/AR included); outbound ones are the outbox's send attempts
(``outbox_attempt.started_at``), since an outbound message is logged there, not in the
message log. Minutes are grouped by the database (one indexed range, a few dozen rows
back) so that a busy hour costs the page no more than a quiet one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from pacsbridge.store import outbox
from pacsbridge.store.tables import hl7_message, outbox_attempt, outbox_message

MINUTES = 60
ERROR_OUTCOMES = ("AE", "AR", "CE", "CR")
SENT_OUTCOMES = ("AA", "CA")


@dataclass(frozen=True)
class Traffic:
    """Counts per minute, oldest first; the last one is the current minute."""

    inbound: list[int]
    inbound_errors: list[int]
    outbound: list[int]
    outbound_failed: list[int]


def _minute(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.date_trunc("minute", column), "YYYY-MM-DD HH24:MI")
    return func.strftime("%Y-%m-%d %H:%M", column)


def traffic(connection: Connection, dialect: str, now: datetime, minutes: int = MINUTES) -> Traffic:
    first = (now - timedelta(minutes=minutes - 1)).replace(second=0, microsecond=0)
    keys = [(first + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M") for i in range(minutes)]
    position = {key: i for i, key in enumerate(keys)}

    def counts(table: Any, column: Any, failed: Any) -> tuple[list[int], list[int]]:
        bucket = _minute(column, dialect).label("minute")
        rows = connection.execute(
            select(bucket, func.count(), func.count().filter(failed))
            .where(column >= first).group_by(bucket)
        ).all()  # fmt: skip
        every, bad = [0] * minutes, [0] * minutes
        for key, total, failures in rows:
            if key in position:
                every[position[key]], bad[position[key]] = int(total), int(failures)
        return every, bad

    inbound, inbound_errors = counts(hl7_message, hl7_message.c.received_at,
                                     hl7_message.c.outcome.in_(ERROR_OUTCOMES))  # fmt: skip
    outbound, outbound_failed = counts(outbox_attempt, outbox_attempt.c.started_at,
                                       outbox_attempt.c.outcome.not_in(SENT_OUTCOMES))  # fmt: skip
    return Traffic(inbound, inbound_errors, outbound, outbound_failed)


@dataclass(frozen=True)
class Refusal:
    """An inbound message answered AE/AR: what the dashboard lists (no patient data)."""

    pk: int
    received_at: datetime
    sender: str
    message_type: str
    control_id: str
    outcome: str
    error: str


def recent_refusals(connection: Connection, limit: int = 8) -> list[Refusal]:
    c = hl7_message.c
    rows = connection.execute(
        select(c.pk, c.received_at, c.sending_application, c.sending_facility, c.message_type,
               c.control_id, c.outcome, c.error)
        .where(c.outcome.in_(ERROR_OUTCOMES)).order_by(c.pk.desc()).limit(limit)
    ).all()  # fmt: skip
    return [Refusal(r.pk, r.received_at, "/".join(filter(None, (r.sending_application,
                                                               r.sending_facility))),
                    r.message_type or "", r.control_id or "", r.outcome,
                    (r.error or "")[:160]) for r in rows]  # fmt: skip


@dataclass(frozen=True)
class Failure:
    """An outbound message that is dead, or waiting again after a failed attempt."""

    pk: int
    created_at: datetime
    destination: str
    message_type: str
    status: str
    attempts: int
    error: str


def recent_failures(connection: Connection, limit: int = 8) -> list[Failure]:
    m = outbox_message.c
    failing = (m.status == outbox.DEAD) | (m.status.in_(outbox.OPEN) & (m.attempts > 0)
                                           & m.last_error.is_not(None))  # fmt: skip
    rows = connection.execute(
        select(m.pk, m.created_at, m.destination, m.message_type, m.status, m.attempts,
               m.last_error)
        .where(failing).order_by(m.pk.desc()).limit(limit)
    ).all()  # fmt: skip
    return [Failure(r.pk, r.created_at, r.destination, r.message_type, r.status, r.attempts,
                    (r.last_error or "")[:160]) for r in rows]  # fmt: skip
