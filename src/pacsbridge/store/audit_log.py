"""The audit log: facts of each access to patient data, appended in batches, searched by
the parameters of FHIR R4's AuditEvent.

Written at the rate of reads, so each access is one narrow row plus a link row per patient
and per thing touched, inserted a batch at a time; the AuditEvent resource is rendered
from the facts when an administrator reads it (``auth/audit_event.py``). Search takes the
R4 AuditEvent parameter names (``PARAMETERS``); values separated by commas are
alternatives, repeated parameters must all match, newest first, paged by position.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy import ColumnElement, and_, delete, false, func, or_, select, true
from sqlalchemy.engine import Row

from pacsbridge.errors import BadValue
from pacsbridge.store.auth_tables import audit_event, audit_event_link
from pacsbridge.store.database import Database
from pacsbridge.store.search.values import date_range, has_control_character

MAX_COUNT = 1000


@dataclass
class AuditRecord:
    """One access: who (the principal's facts), what, when, from where, how it ended."""

    face: str
    interaction: str
    action: str
    status: int
    kind: str
    subject: str
    recorded: datetime
    role: str | None = None
    client_id: str | None = None
    fhir_user: str | None = None
    address: str | None = None
    site: str | None = None
    query: str | None = None
    entities: list[str] = field(default_factory=list)
    patients: list[str] = field(default_factory=list)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    pk: int | None = None


_COLUMNS = ("event_id", "recorded", "face", "interaction", "action", "status", "kind",
            "subject", "role", "client_id", "fhir_user", "address", "site", "query")  # fmt: skip


def append(database: Database, records: list[AuditRecord]) -> None:
    """Store a batch in one transaction, a multi-row INSERT per table (a thousand rows each).

    The writer runs in a thread beside the event loop. On SQLite a statement per row
    (executemany) hands the GIL over at every row, and the event loop, which gives it up
    at every socket call, then waits its turn each time: requests stall while a batch is
    written. One statement per table keeps that to a few hand-overs; the SQL is joined
    here, as SQLAlchemy's compiler would spend longer on ten thousand parameters than the
    write. psycopg sends an executemany as one pipeline, so PostgreSQL gets that.
    """
    if not records:
        return
    rows = [
        (*(getattr(r, name) for name in _COLUMNS),
         orjson.dumps(r.entities).decode(), orjson.dumps(r.patients).decode())
        for r in records
    ]  # fmt: skip
    links = [link for r in records for link in _links(r)]
    with database.writer.begin() as connection:
        for table, names, items in (("audit_event", _NAMES, rows),
                                    ("audit_event_link", _LINK_NAMES, links)):  # fmt: skip
            if not items:
                continue
            if database.is_postgresql:  # psycopg pipelines executemany: one round trip
                row = f"({', '.join(['%s'] * len(names))})"
                connection.exec_driver_sql(_insert(table, names, [row]), items)
                continue
            row = f"({', '.join(['?'] * len(names))})"
            per = _SQLITE_VALUES // len(names)
            for start in range(0, len(items), per):
                chunk = items[start : start + per]
                flat = tuple(value for item in chunk for value in item)
                connection.exec_driver_sql(_insert(table, names, [row] * len(chunk)), flat)


def _insert(table: str, names: tuple[str, ...], rows: list[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(names)}) VALUES {', '.join(rows)}"


_SQLITE_VALUES = 30000  # bound values per statement; SQLite allows 32766
_NAMES = (*_COLUMNS, "entities", "patients")
_LINK_NAMES = ("event_id", "kind", "value")


def _links(record: AuditRecord) -> list[tuple[str, str, str]]:
    event = record.event_id
    found = [(event, "patient", p[:200]) for p in record.patients]
    for entity in record.entities:
        found.append((event, "entity", entity[:200]))
        if entity.startswith("urn:dicom:uid:"):
            found.append((event, "name", entity[14:][:200]))
    return found


def get(database: Database, event_id: str) -> AuditRecord | None:
    with database.reader.connect() as connection:
        row = connection.execute(
            select(audit_event).where(audit_event.c.event_id == event_id)
        ).first()
    return _record(row) if row is not None else None


def search(
    database: Database, params: list[tuple[str, str]], count: int, after: int | None = None
) -> tuple[list[AuditRecord], int | None]:
    """A page of matches, newest first, and the position the next page starts after."""
    condition = and_(true(), *(_condition(name, value) for name, value in params))
    if after is not None:
        condition = and_(condition, audit_event.c.pk < after)
    query = select(audit_event).where(condition).order_by(audit_event.c.pk.desc()).limit(count + 1)
    with database.reader.connect() as connection:
        rows = connection.execute(query).all()
    found = [_record(row) for row in rows[:count]]
    next_after = found[-1].pk if len(rows) > count and found else None
    return found, next_after


def purge_older(database: Database, cutoff: datetime, chunk: int = 2000) -> int:
    """Delete events recorded before ``cutoff`` with their links, a chunk per transaction
    (the writer of new events and the other writers wait for one chunk, not for all)."""
    purged = 0
    while True:
        with database.writer.begin() as connection:
            events = connection.execute(
                select(audit_event.c.event_id).where(audit_event.c.recorded < cutoff)
                .order_by(audit_event.c.pk).limit(chunk)
            ).scalars().all()  # fmt: skip
            if events:
                link = audit_event_link.c.event_id
                connection.execute(delete(audit_event_link).where(link.in_(events)))
                connection.execute(delete(audit_event).where(audit_event.c.event_id.in_(events)))
        purged += len(events)
        if len(events) < chunk:
            return purged


def count(database: Database, params: list[tuple[str, str]]) -> int:
    condition = and_(true(), *(_condition(name, value) for name, value in params))
    with database.reader.connect() as connection:
        return connection.execute(
            select(func.count()).select_from(audit_event).where(condition)
        ).scalar_one()


def _record(row: Row) -> AuditRecord:
    return AuditRecord(
        **{name: getattr(row, name) for name in _COLUMNS},
        entities=orjson.loads(row.entities), patients=orjson.loads(row.patients), pk=row.pk,
    )  # fmt: skip


# --- the search parameters of R4 AuditEvent, as columns and links ---


def _condition(name: str, value: str) -> ColumnElement[bool]:
    base, _, modifier = name.partition(":")
    build = PARAMETERS.get(base)
    if build is None:
        known = ", ".join(sorted(PARAMETERS))
        raise BadValue(f"AuditEvent cannot be searched by {base!r}; it can by {known}", base)
    if modifier not in ("", "exact") or (modifier == "exact" and base not in _STRINGS):
        raise BadValue(f"the modifier :{modifier} is not supported on {base}", name)
    values = [v for v in value.split(",") if v]
    if not values:
        raise BadValue(f"{base} needs a value", base)
    if has_control_character(value):  # PostgreSQL refuses NUL in text
        raise BadValue(f"search parameter {base} contains a control character", base)
    return or_(*(build(v, modifier == "exact") for v in values))


def _linked(kind: str, value: str) -> ColumnElement[bool]:
    return audit_event.c.event_id.in_(
        select(audit_event_link.c.event_id).where(
            audit_event_link.c.kind == kind, audit_event_link.c.value == value
        )
    )


def _string(column: ColumnElement[str], value: str, exact: bool) -> ColumnElement[bool]:
    """FHIR string search: starts with, ignoring case; ``:exact`` is equality."""
    if exact:
        return column == value
    escaped = value.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return func.lower(column).like(f"{escaped}%", escape="\\")


def _code(value: str) -> str:
    return value.rpartition("|")[2]


def _date(value: str, exact: bool) -> ColumnElement[bool]:
    prefix, text = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
    low, high = date_range(text)
    column = audit_event.c.recorded
    comparisons = {
        "eq": and_(column >= low, column <= high), "ne": or_(column < low, column > high),
        "lt": column < low, "le": column <= high, "gt": column > high, "ge": column >= low,
        "sa": column > high, "eb": column < low,
    }  # fmt: skip
    if prefix not in comparisons:
        raise BadValue(f"unknown date prefix {prefix!r}", "date")
    return comparisons[prefix]


def _outcome(value: str, exact: bool) -> ColumnElement[bool]:
    status = audit_event.c.status
    return {"0": status < 400, "4": and_(status >= 400, status < 500), "8": status >= 500}.get(
        _code(value), false()
    )


_STRINGS = {"agent-name", "address", "entity-name"}
PARAMETERS: dict[str, Callable[[str, bool], ColumnElement[bool]]] = {
    "date": _date,
    "patient": lambda v, _: _linked("patient", v.removeprefix("Patient/")),
    "entity": lambda v, _: _linked("entity", v),
    "entity-name": lambda v, _: _linked("name", v),  # a DICOM UID: equal, prefix or not
    "agent": lambda v, _: audit_event.c.fhir_user == v,
    "agent-name": lambda v, exact: or_(
        _string(audit_event.c.subject, v, exact), _string(audit_event.c.client_id, v, exact)
    ),
    "altid": lambda v, _: audit_event.c.client_id == _code(v),
    "address": lambda v, exact: _string(audit_event.c.address, v, exact),
    "outcome": _outcome,
    "action": lambda v, _: audit_event.c.action == _code(v),
    "subtype": lambda v, _: audit_event.c.interaction == _code(v),
    "type": lambda v, _: true() if _code(v) == "rest" else false(),
    "site": lambda v, _: audit_event.c.site == _code(v),
}
