"""Hot statements run on the driver's cursor, compiled by SQLAlchemy once per dialect.

SQLAlchemy's ``Connection.execute`` costs about 150 µs of Python per statement on the
machine the benchmarks run on (the compiled cache, execution context, result set-up and
events), several times what sqlite3 or psycopg take to run the statement itself. A
C-STORE writes three or four rows and an HL7 order about ten, so that overhead was the
largest part of their database time. :class:`DriverStatement` keeps SQLAlchemy for what
it is good at (the SQL of each dialect, the types' conversions, its exception classes)
and does the per-call work once: the SQL text, the order of the parameters and the
conversion of each value are kept per dialect and set of columns.

It runs inside the caller's SQLAlchemy transaction, on the same connection. Only
statements whose parameters are plain values belong here: a missing column with a
Python-side default is refused when the statement is compiled, not silently left out.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import Delete, Insert, Select, Update
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]


@dataclass(frozen=True)
class _Compiled:
    sql: str
    names: tuple[str, ...] | None  # positional drivers: the parameters in order
    processors: tuple[tuple[str, Processor], ...]  # bind name → conversion for the driver
    fixed: dict[str, Any]  # values the statement holds itself (``.values(flag=True)``)
    row: Callable[..., Any] | None  # selects: builds a row with attribute access
    results: tuple[Processor | None, ...]  # selects: per column, driver value → Python


class DriverStatement:
    """One INSERT, UPDATE, DELETE or SELECT, executed without SQLAlchemy's per-call work."""

    def __init__(self, statement: Insert | Update | Delete | Select[Any]) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def execute(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """Run once; the driver's cursor, for ``rowcount``."""
        compiled = self._compile(connection.dialect, params)
        return _run(connection, compiled.sql, _arguments(compiled, params))

    def executemany(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run for each row; all rows name the same columns."""
        if not rows:
            return
        compiled = self._compile(connection.dialect, rows[0])
        _run(connection, compiled.sql, [_arguments(compiled, row) for row in rows], many=True)

    def scalar(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        """The first column of the first row, as the driver gives it (``RETURNING pk``)."""
        cursor = self.execute(connection, params)
        row = cursor.fetchone()
        if row is None:
            raise LookupError("the statement returned no row")
        return row[0]

    def all(self, connection: Connection, params: Mapping[str, Any]) -> list[Any]:
        """A select's rows, their columns as attributes and Python values."""
        compiled = self._compile(connection.dialect, params)
        assert compiled.row is not None, "all() is for selects"
        cursor = _run(connection, compiled.sql, _arguments(compiled, params))
        make, results = compiled.row, compiled.results
        return [make(*(v if convert is None else convert(v)
                       for convert, v in zip(results, found, strict=True)))
                for found in cursor.fetchall()]  # fmt: skip

    def first(self, connection: Connection, params: Mapping[str, Any]) -> Any | None:
        found = self.all(connection, params)
        return found[0] if found else None

    def one(self, connection: Connection, params: Mapping[str, Any]) -> Any:
        found = self.all(connection, params)
        if len(found) != 1:
            raise LookupError(f"expected one row, got {len(found)}")
        return found[0]

    def _compile(self, dialect: Dialect, params: Mapping[str, Any]) -> _Compiled:
        key = (dialect.name, tuple(params))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _compile(self.statement, dialect, tuple(params))
        return compiled


def _compile(statement: Any, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    if isinstance(statement, Insert):
        _refuse_client_defaults(statement, keys)
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    assert isinstance(compiled, SQLCompiler)
    processors = {}
    for name, bind in compiled.binds.items():
        processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            processors[name] = processor
    fixed = {name: processors[name](value) if name in processors else value
             for name, value in compiled.construct_params(dict.fromkeys(keys)).items()
             if name not in keys}  # fmt: skip
    positional = dialect.paramstyle in ("qmark", "numeric", "format")
    names = tuple(compiled.positiontup or ()) if positional else None
    row, results = None, ()
    if isinstance(statement, Select):
        columns = list(statement.selected_columns)
        row = namedtuple("Row", [c.key for c in columns])  # type: ignore[misc]  # noqa: PYI024
        results = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                        for c in columns)  # fmt: skip
    given = tuple((name, processors[name]) for name in keys if name in processors)
    return _Compiled(compiled.string, names, given, fixed, row, results)


def _refuse_client_defaults(statement: Insert, keys: Iterable[str]) -> None:
    given = set(keys)
    for column in statement.table.columns:  # type: ignore[attr-defined]
        if column.key not in given and column.default is not None:
            raise ValueError(f"{column} has a Python-side default: pass it explicitly")


def _arguments(compiled: _Compiled, params: Mapping[str, Any]) -> Any:
    values = {**compiled.fixed, **params}
    for name, processor in compiled.processors:
        values[name] = processor(values[name])
    if compiled.names is None:
        return values
    return tuple(values[name] for name in compiled.names)


def execute_sql(connection: Connection, sql: str, arguments: Any) -> Any:
    """SQL written for the driver (its parameter style), run as ``DriverStatement`` runs
    its own: on the connection's driver cursor, errors raised as SQLAlchemy's."""
    return _run(connection, sql, arguments)


def _run(connection: Connection, sql: str, arguments: Any, *, many: bool = False) -> Any:
    """The driver's cursor after running ``sql``; its exceptions raised as SQLAlchemy's, as
    ``Connection.execute`` raises them."""
    cursor = connection.connection.cursor()
    error = connection.dialect.loaded_dbapi.Error
    try:
        if many:
            cursor.executemany(sql, arguments)
        else:
            cursor.execute(sql, arguments)
    except error as exc:
        raise DBAPIError.instance(sql, arguments, exc, error) from exc
    return cursor
