"""Writes the search index rows of one resource: delete the old ones, insert the new.

Called on every write inside the write's transaction, so the index never lags the data.
Only current, non-deleted versions are indexed.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.engine import Connection

from pacsbridge.store.driver import DriverStatement
from pacsbridge.store.search.dates import is_long
from pacsbridge.store.search.extract import IndexRows, extract
from pacsbridge.store.search.params import SearchRegistry
from pacsbridge.store.tables import INDEX_TABLES, INDEXED_STRING_LENGTH

_CUT = INDEXED_STRING_LENGTH


def _rows(pk: int, res_type: str, rows: IndexRows) -> dict[str, list[dict[str, Any]]]:
    base = {"resource_pk": pk, "res_type": res_type}
    return {
        "string": [
            {**base, "param": p, "value_norm": norm[:_CUT], "value_exact": exact}
            for p, norm, exact in rows.strings
        ],
        "token": [
            {**base, "param": p, "system": system, "code": code[:_CUT]}
            for p, system, code in rows.tokens
        ],
        "reference": [
            {**base, "param": p, "target_type": t, "target_id": i, "url": url}
            for p, t, i, url in rows.references
        ],
        "date": [
            {**base, "param": p, "low": low, "high": high, "long_range": is_long(low, high)}
            for p, low, high in rows.dates
        ],
        "uri": [{**base, "param": p, "uri": uri} for p, uri in rows.uris],
        "number": [{**base, "param": p, "value": value} for p, value in rows.numbers],
        "quantity": [
            {**base, "param": p, "value": v, "system": s, "code": c, "unit": u}
            for p, v, s, c, u in rows.quantities
        ],
    }


# Built once and run on the driver: every write runs them.
_CLEAR = [DriverStatement(delete(t).where(t.c.resource_pk == bindparam("pk")))
          for t in INDEX_TABLES.values()]  # fmt: skip
_INSERT = {kind: DriverStatement(insert(table)) for kind, table in INDEX_TABLES.items()}


def clear_index(conn: Connection, pk: int) -> None:
    for statement in _CLEAR:
        statement.execute(conn, {"pk": pk})


def write_index(
    conn: Connection,
    pk: int,
    body: dict[str, Any],
    registry: SearchRegistry,
    *,
    replace: bool,
) -> None:
    """Index ``body`` under ``pk``; ``replace`` first removes the previous version's rows."""
    if replace:
        clear_index(conn, pk)
    res_type = body["resourceType"]
    rows = extract(body, registry.for_resource(res_type))
    for kind, values in _rows(pk, res_type, rows).items():
        if values:
            _INSERT[kind].executemany(conn, values)
