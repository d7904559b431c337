"""The outbox table: messages waiting to leave, claimed one per patient at a time.

Rules :func:`enqueue` inside the transaction of the change that causes the message, so
both commit or neither does. Senders :func:`claim_next`: the oldest ready message whose
partition (patient, for one destination) has nothing older still pending or in flight,
so order holds per patient while patients flow in parallel. A claim is a lease: a sender
that dies leaves a ``sending`` row whose lease runs out, and the next claim takes it again
with the same MSH-10, so the receiver can drop the copy. Senders of one process or of
many may look at once: a claim is a conditional UPDATE that only one of them wins.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from pacsbridge.store.database import Database
from pacsbridge.store.tables import outbox_attempt, outbox_destination, outbox_message

m = outbox_message
PENDING, SENDING, SENT, DEAD, CANCELLED = "pending", "sending", "sent", "dead", "cancelled"
OPEN = (PENDING, SENDING)


@dataclass(frozen=True)
class OutboxEntry:
    pk: int
    destination: str
    partition_key: str
    event: str
    message_type: str
    control_id: str
    source: str | None
    payload: bytes
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    finished_at: datetime | None
    ack_code: str | None
    ack: bytes | None
    last_error: str | None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    started_at: datetime
    seconds: float
    outcome: str
    ack: bytes | None
    error: str | None


def enqueue(connection: Connection, *, destination: str, partition_key: str, event: str,
            message_type: str, control_id: str, source: str | None, payload: bytes,
            now: datetime) -> int:  # fmt: skip
    values = dict(destination=destination, partition_key=partition_key[:128], event=event,
                  message_type=message_type, control_id=control_id, source=source,
                  payload=payload, status=PENDING, attempts=0, created_at=now,
                  next_attempt_at=now)  # fmt: skip
    return int(connection.execute(insert(m).values(**values).returning(m.c.pk)).scalar_one())


# Open messages read per look, growing: the head is usually among the first few.
SCAN_BATCHES = (16, 128, 1024)
_OPEN_AFTER = (
    select(m.c.pk, m.c.partition_key, m.c.status, m.c.next_attempt_at, m.c.lease_until)
    .where(m.c.destination == bindparam("destination"), m.c.status.in_(OPEN),
           m.c.pk > bindparam("after"))
    .order_by(m.c.pk).limit(bindparam("limit"))
)  # fmt: skip


def claim_next(database: Database, destination: str, lease_seconds: float,
               now: datetime) -> OutboxEntry | None:  # fmt: skip
    """Claim the oldest sendable message of ``destination``, or None when none is ready.

    Open messages are read in pk order (a partial index holds only those), without a
    lock; the first of each partition is its head, and only a ready head may go. The
    claim is a conditional UPDATE, so of two senders (or processes) that pick the same
    head one wins and the other moves on. A stale read can only miss a head, never make
    a later message look like one: earlier messages only ever close.
    """
    with database.reader.connect() as connection:
        if _paused(connection, destination):
            return None
        seen: set[str] = set()
        after, look = 0, 0
        while True:
            limit = SCAN_BATCHES[min(look, len(SCAN_BATCHES) - 1)]
            wanted = {"destination": destination, "after": after, "limit": limit}
            rows = connection.execute(_OPEN_AFTER, wanted).all()
            for row in rows:
                if row.partition_key in seen:
                    continue
                seen.add(row.partition_key)
                claimed = _take(database, row, now, lease_seconds)
                if claimed is not None:
                    return claimed
            if len(rows) < limit:
                return None
            after, look = rows[-1].pk, look + 1


def _take(database: Database, row: Any, now: datetime,
          lease_seconds: float) -> OutboxEntry | None:  # fmt: skip
    if row.status == PENDING and row.next_attempt_at <= now:
        still = and_(m.c.status == PENDING, m.c.next_attempt_at <= now)
    elif row.status == SENDING and row.lease_until is not None and row.lease_until < now:
        still = and_(m.c.status == SENDING, m.c.lease_until < now)  # its sender died
    else:
        return None
    with database.writer.begin() as connection:
        done = connection.execute(
            update(m).where(m.c.pk == row.pk, still)
            .values(status=SENDING, attempts=m.c.attempts + 1,
                    lease_until=now + timedelta(seconds=lease_seconds))
        )  # fmt: skip
        if done.rowcount != 1:
            return None
        return _entry(connection.execute(select(m).where(m.c.pk == row.pk)).one())


def record_attempt(database: Database, entry: OutboxEntry, *, started_at: datetime,
                   seconds: float, outcome: str, ack: bytes | None, error: str | None,
                   now: datetime, max_attempts: int, retry_base: float,
                   retry_max: float) -> str:  # fmt: skip
    """Log one attempt and move the message on; the new status.

    AA/CA: sent. AR/CR: dead at once (the receiver will never take it). AE/CE, timeouts and
    connection errors: again after an exponential backoff with jitter, dead at the limit.
    """
    if outcome in ("AA", "CA"):
        status = SENT
    elif outcome in ("AR", "CR") or entry.attempts >= max_attempts:
        status = DEAD
    else:
        status = PENDING
    delay = min(retry_max, retry_base * 2 ** (entry.attempts - 1)) * random.uniform(0.5, 1.0)
    values: dict[str, Any] = {"status": status, "lease_until": None,
                              "last_error": error if status != SENT else None}  # fmt: skip
    if outcome not in ("timeout", "error"):
        values.update(ack_code=outcome, ack=ack)
    if status == PENDING:
        values["next_attempt_at"] = now + timedelta(seconds=delay)
    else:
        values["finished_at"] = now
    with database.writer.begin() as connection:
        connection.execute(insert(outbox_attempt).values(
            message_pk=entry.pk, attempt=entry.attempts, started_at=started_at,
            seconds=round(seconds, 4), outcome=outcome, ack=ack, error=error))  # fmt: skip
        # Only the claim's holder may finish it: a lease taken over by another sender wins.
        connection.execute(
            update(m).where(m.c.pk == entry.pk, m.c.status == SENDING,
                            m.c.attempts == entry.attempts).values(**values)
        )  # fmt: skip
    return status


# What an operator may do to a message, and from which states (the refusal names them).
RETRY_FROM, CANCEL_FROM = (DEAD, CANCELLED), (PENDING, DEAD)


def retry(connection: Connection, pk: int, now: datetime) -> bool:
    """A dead or cancelled message back in the queue, to go next for its patient."""
    done = connection.execute(
        update(m).where(m.c.pk == pk, m.c.status.in_(RETRY_FROM))
        .values(status=PENDING, attempts=0, next_attempt_at=now, finished_at=None)
    )  # fmt: skip
    return done.rowcount == 1


def cancel(connection: Connection, pk: int, now: datetime) -> bool:
    """A waiting or dead message that will not be sent; one in flight cannot be cancelled."""
    done = connection.execute(
        update(m).where(m.c.pk == pk, m.c.status.in_(CANCEL_FROM))
        .values(status=CANCELLED, finished_at=now)
    )  # fmt: skip
    return done.rowcount == 1


OPERATIONS = {"retry": (retry, RETRY_FROM), "cancel": (cancel, CANCEL_FROM)}
"""The operator's moves by name, for the CLI and the API: the function and its states."""


def purge_finished(connection: Connection, older_than: datetime) -> int:
    """Delete messages sent or cancelled before ``older_than`` (dead letters stay)."""
    finished = select(m.c.pk).where(m.c.status.in_((SENT, CANCELLED)),
                                    m.c.finished_at < older_than)  # fmt: skip
    connection.execute(delete(outbox_attempt).where(outbox_attempt.c.message_pk.in_(finished)))
    return connection.execute(delete(m).where(m.c.pk.in_(finished))).rowcount


def set_paused(connection: Connection, destination: str, paused: bool, now: datetime) -> None:
    d = outbox_destination
    connection.execute(delete(d).where(d.c.name == destination))
    connection.execute(insert(d).values(name=destination, paused=paused, updated_at=now))


def _paused(connection: Connection, destination: str) -> bool:
    d = outbox_destination
    return bool(connection.execute(select(d.c.paused).where(d.c.name == destination)).scalar())


def paused_destinations(connection: Connection) -> set[str]:
    d = outbox_destination
    return set(connection.execute(select(d.c.name).where(d.c.paused.is_(True))).scalars())


def get_entry(connection: Connection, pk: int) -> tuple[OutboxEntry, list[Attempt]] | None:
    row = connection.execute(select(m).where(m.c.pk == pk)).first()
    if row is None:
        return None
    a = outbox_attempt
    attempts = connection.execute(
        select(a.c.attempt, a.c.started_at, a.c.seconds, a.c.outcome, a.c.ack, a.c.error)
        .where(a.c.message_pk == pk).order_by(a.c.pk)
    ).all()  # fmt: skip
    return _entry(row), [Attempt(r.attempt, r.started_at, float(r.seconds), r.outcome, r.ack,
                                 r.error) for r in attempts]  # fmt: skip


def list_entries(connection: Connection, *, destination: str | None = None,
                 status: str | None = None, partition_key: str | None = None,
                 limit: int = 100, before_pk: int | None = None) -> list[OutboxEntry]:  # fmt: skip
    """Newest first; ``before_pk`` pages on."""
    query = select(m).order_by(m.c.pk.desc()).limit(limit)
    for column, value in ((m.c.destination, destination), (m.c.status, status),
                          (m.c.partition_key, partition_key)):  # fmt: skip
        if value is not None:
            query = query.where(column == value)
    if before_pk is not None:
        query = query.where(m.c.pk < before_pk)
    return [_entry(row) for row in connection.execute(query)]


@dataclass(frozen=True)
class QueueState:
    destination: str
    depth: int  # pending + sending
    dead: int
    oldest_open: datetime | None

    def waiting_seconds(self, now: datetime) -> float | None:
        """How long the oldest waiting message has waited; None when none waits."""
        return (now - self.oldest_open).total_seconds() if self.oldest_open else None


def queue_states(connection: Connection) -> list[QueueState]:
    """Per destination: how many wait, how many are parked dead, since when the oldest waits."""
    is_open = m.c.status.in_(OPEN)
    rows = connection.execute(
        select(m.c.destination,
               func.count().filter(is_open),
               func.count().filter(m.c.status == DEAD),
               func.min(m.c.created_at).filter(is_open))
        .group_by(m.c.destination).order_by(m.c.destination)
    ).all()  # fmt: skip
    return [QueueState(r[0], int(r[1]), int(r[2]), r[3]) for r in rows]


def _entry(row: Any) -> OutboxEntry:
    return OutboxEntry(row.pk, row.destination, row.partition_key, row.event, row.message_type,
                       row.control_id, row.source, bytes(row.payload), row.status, row.attempts,
                       row.created_at, row.next_attempt_at, row.finished_at, row.ack_code,
                       bytes(row.ack) if row.ack is not None else None, row.last_error)  # fmt: skip
