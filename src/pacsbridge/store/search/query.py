"""A parsed :class:`SearchRequest` turned into SQL over the index tables, and run.

Each criterion becomes ``resource.pk IN (SELECT resource_pk FROM idx_<type> WHERE …)``; the
values of one criterion are OR-ed, criteria are AND-ed (R4 3.1.1.5). Matching rules of the
value types live in ``conditions.py``. Paging is keyset paging on the sort keys plus the
primary key, so a ``next`` link keeps pointing after the last row it showed however rows are
inserted or deleted in between (OFFSET would skip or repeat rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, false, func, literal, or_, select, true, tuple_
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError
from sqlalchemy.sql import ColumnElement

from pacsbridge.errors import TooCostly
from pacsbridge.store.cursor import decode_cursor, encode_cursor
from pacsbridge.store.resources import StoredResource, select_current_by_pks
from pacsbridge.store.search.conditions import restricts_type, search_conditions
from pacsbridge.store.search.params import SearchRegistry
from pacsbridge.store.search.parse import Include, SearchRequest, SortKey
from pacsbridge.store.tables import INDEX_TABLES, idx_reference, resource

MAX_INCLUDED = 1000
MAX_INCLUDE_ROUNDS = 4
_EPOCH = datetime(1, 1, 1)


@dataclass
class SearchResult:
    matches: list[StoredResource]
    included: list[StoredResource] = field(default_factory=list)
    total: int | None = None
    next_cursor: str | None = None


def matching_pks(request: SearchRequest) -> ColumnElement[bool]:
    """The WHERE clause on ``resource`` for the request's criteria.

    With criteria, the resource type is left to them (each index subquery names it), so
    that SQLite looks the matches up by primary key instead of scanning every resource
    of the type through the type index.
    """
    conditions = search_conditions(request.resource_type, request.criteria)
    if not any(restricts_type(c) for c in request.criteria):
        conditions.append(resource.c.res_type == request.resource_type)
    return and_(resource.c.deleted.is_(False), *conditions)


def count_matches(conn: Connection, request: SearchRequest) -> int:
    query = select(func.count()).select_from(resource).where(matching_pks(request))
    return conn.execute(query).scalar_one()


def find_pks(conn: Connection, request: SearchRequest, limit: int) -> list[int]:
    """Primary keys of the first ``limit`` matches, unsorted; for conditional interactions."""
    query = select(resource.c.pk).where(matching_pks(request)).limit(limit)
    return list(conn.execute(query).scalars())


def run_search(conn: Connection, request: SearchRequest, registry: SearchRegistry) -> SearchResult:
    """One page of matches, its includes, the total when asked, and the next cursor."""
    try:
        return _run_search(conn, request, registry)
    except OperationalError as exc:
        if type(exc.orig).__name__ == "QueryCanceled":  # PostgreSQL's statement_timeout
            raise TooCostly("the search took too long; narrow it with more criteria") from exc
        raise


def _run_search(conn: Connection, request: SearchRequest, registry: SearchRegistry
                ) -> SearchResult:  # fmt: skip
    want_total = request.total in ("accurate", "estimate") or (
        request.total is None and request.cursor is None
    )
    if request.summary == "count":
        return SearchResult([], total=count_matches(conn, request))
    keys = _sort_keys(request.sort)
    inner = select(
        resource.c.pk.label("pk"), *(expr.label(f"k{n}") for n, (expr, _) in enumerate(keys))
    ).where(matching_pks(request))
    sub = inner.subquery("matches")
    ordered = [(sub.c[f"k{n}"], desc) for n, (_, desc) in enumerate(keys)] + [(sub.c.pk, False)]
    query = select(*(column for column, _ in ordered))
    if request.cursor:
        query = query.where(_after(ordered, decode_cursor(request.cursor, len(ordered))))
    query = query.order_by(*(c.desc() if desc else c.asc() for c, desc in ordered))
    rows = conn.execute(query.limit(request.count + 1)).all()
    more = len(rows) > request.count
    rows = rows[: request.count]
    total = None
    if want_total:  # a first page that holds every match needs no second query to count
        total = len(rows) if not more and not request.cursor else count_matches(conn, request)
    matches = select_current_by_pks(conn, [row[-1] for row in rows])
    next_cursor = encode_cursor(list(rows[-1])) if more and rows else None
    included = resolve_includes(conn, request, matches, registry) if request.has_includes else []
    return SearchResult(matches, included, total, next_cursor)


# --- sorting and keyset paging ---


def _sort_keys(sort: list[SortKey]) -> list[tuple[ColumnElement[Any], bool]]:
    """Per sort parameter: a missing-last flag, then the value (R4 3.1.1.4.10)."""
    keys: list[tuple[ColumnElement[Any], bool]] = []
    for key in sort:
        value = _sort_value(key)
        keys.append((case((value.is_(None), 1), else_=0), False))
        default: Any = (
            _EPOCH
            if key.param.type == "date"
            else (0 if key.param.type in ("number", "quantity") else "")
        )
        keys.append((func.coalesce(value, default), key.descending))
    return keys


_SORT_COLUMN = {"string": "value_norm", "token": "code", "reference": "target_id",
                "uri": "uri", "number": "value", "quantity": "value"}  # fmt: skip


def _sort_value(key: SortKey) -> ColumnElement[Any]:
    param = key.param
    if param.name == "_id":
        return resource.c.res_id
    if param.name == "_lastUpdated":
        return resource.c.last_updated
    table = INDEX_TABLES[param.type].alias()
    if param.type == "date":
        value = func.max(table.c.high) if key.descending else func.min(table.c.low)
    else:
        column = table.c[_SORT_COLUMN[param.type]]
        value = func.max(column) if key.descending else func.min(column)
    return (
        select(value)
        .where(table.c.resource_pk == resource.c.pk, table.c.param == param.name)
        .scalar_subquery()
    )


def _after(ordered: list[tuple[Any, bool]], values: list[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the lexicographic order of ``ordered``."""
    alternatives = []
    for n, (column, desc) in enumerate(ordered):
        equal = [ordered[j][0] == values[j] for j in range(n)]
        beyond = column < values[n] if desc else column > values[n]
        alternatives.append(and_(*equal, beyond))
    return or_(*alternatives)


# --- _include and _revinclude ---


def resolve_includes(
    conn: Connection,
    request: SearchRequest,
    matches: list[StoredResource],
    registry: SearchRegistry,
) -> list[StoredResource]:
    """Resources named by _include/_revinclude, repeated for :iterate ones (R4 3.1.1.5.8)."""
    seen = {(m.type, m.id) for m in matches}
    included: list[StoredResource] = []
    frontier = matches
    for round_number in range(MAX_INCLUDE_ROUNDS):
        found: list[StoredResource] = []
        for spec in request.includes:
            if round_number == 0 or spec.iterate:
                found += _forward(conn, spec, frontier, registry)
        for spec in request.revincludes:
            if round_number == 0 or spec.iterate:
                found += _reverse(conn, spec, frontier)
        fresh = []
        for item in found:
            if (item.type, item.id) not in seen and len(included) < MAX_INCLUDED:
                seen.add((item.type, item.id))
                included.append(item)
                fresh.append(item)
        if not fresh:
            break
        frontier = fresh
    return included


def _reference_params(spec: Include, registry: SearchRegistry) -> ColumnElement[bool]:
    if spec.param != "*":
        return idx_reference.c.param == spec.param
    names = [p.name for p in registry.for_resource(spec.source_type) if p.type == "reference"]
    return idx_reference.c.param.in_(names) if names else false()


def _forward(
    conn: Connection, spec: Include, frontier: list[StoredResource], registry: SearchRegistry
) -> list[StoredResource]:
    sources = [item.pk for item in frontier if item.type == spec.source_type]
    if not sources:
        return []
    query = select(idx_reference.c.target_type, idx_reference.c.target_id).where(
        idx_reference.c.resource_pk.in_(sources),
        _reference_params(spec, registry),
        idx_reference.c.target_id.is_not(None),
        idx_reference.c.target_type == spec.target_type if spec.target_type else true(),
    )
    targets = {(row.target_type, row.target_id) for row in conn.execute(query)}
    if not targets:
        return []
    pks = conn.execute(
        select(resource.c.pk).where(
            tuple_(resource.c.res_type, resource.c.res_id).in_(sorted(targets)),
            resource.c.deleted.is_(False),
        )
    ).scalars()
    return select_current_by_pks(conn, list(pks))


def _reverse(
    conn: Connection, spec: Include, frontier: list[StoredResource]
) -> list[StoredResource]:
    targets = sorted({(item.type, item.id) for item in frontier})
    if spec.target_type:
        targets = [t for t in targets if t[0] == spec.target_type]
    if not targets:
        return []
    param = literal(True) if spec.param == "*" else idx_reference.c.param == spec.param
    pks = conn.execute(
        select(idx_reference.c.resource_pk)
        .where(
            idx_reference.c.res_type == spec.source_type,
            param,
            tuple_(idx_reference.c.target_type, idx_reference.c.target_id).in_(targets),
        )
        .distinct()
        .limit(MAX_INCLUDED)
    ).scalars()
    return select_current_by_pks(conn, list(pks))
