"""Connections to the one database: SQLite (WAL, embedded default) or PostgreSQL.

SQLite allows one writer at a time. A write transaction that starts as a reader and later
upgrades its lock can fail with "database is locked" whatever the busy timeout, so write
transactions take the write lock up front (``BEGIN IMMEDIATE``) on their own engine, and
readers use deferred transactions that see a snapshot in WAL mode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import BigInteger, Engine, bindparam, create_engine, event, func, select, text
from sqlalchemy.engine import Connection, make_url

from pacsbridge.store.driver import DriverStatement

T = TypeVar("T")


def one_round_trip(connection: Connection) -> AbstractContextManager[Any]:
    """Statements whose answers nobody reads, sent together: on PostgreSQL a psycopg
    pipeline (one round trip for all, and executemany rides it); elsewhere nothing. An
    error still raises, at the end of the block. Nothing inside may read a result."""
    if connection.dialect.name != "postgresql":
        return nullcontext()
    return connection.connection.driver_connection.pipeline()


# Taken for nearly every HL7 message: on the driver, without SQLAlchemy's per-call work.
_ADVISORY_LOCK = DriverStatement(
    select(func.pg_advisory_xact_lock(bindparam("k", BigInteger)).label("locked"))
)
TRANSIENT_ATTEMPTS = 5  # deadlocks and serialization failures, each run again


@dataclass
class Database:
    """The engines of one database, and what differs between the two dialects."""

    reader: Engine
    writer: Engine
    url: str
    single: Engine  # autocommit: one-statement reads, no BEGIN/COMMIT round trips

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def lock(self, connection: Connection, key: str) -> None:
        """Serialise writers on ``key`` until the transaction ends.

        On PostgreSQL a transaction-scoped advisory lock; on SQLite every write transaction
        already holds the database's single write lock, so nothing more is needed.
        """
        if self.is_postgresql:
            number = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big")
            number -= 1 << 63  # bigint is signed
            _ADVISORY_LOCK.execute(connection, {"k": number})

    def retrying(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)``, run again when the database undid its transaction."""
        for attempt in range(1, TRANSIENT_ATTEMPTS + 1):
            try:
                return work(*args)
            except Exception as exc:
                if not self.is_transient(exc) or attempt == TRANSIENT_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    @staticmethod
    def is_transient(exc: BaseException) -> bool:
        """A deadlock or serialization failure: the transaction was undone and may be run
        again as it was (PostgreSQL SQLSTATE 40P01, 40001)."""
        return getattr(getattr(exc, "orig", None), "sqlstate", None) in ("40P01", "40001")

    def reclaim_space(self) -> None:
        """Give freed pages back to the file system after large deletes.

        SQLite keeps freed pages until vacuumed (files are created with
        auto_vacuum=INCREMENTAL) and the WAL until checkpointed; PostgreSQL's autovacuum
        makes the space reusable by itself.
        """
        if self.is_postgresql:
            return
        # executescript steps the pragma to the end; execute() would free one page.
        self._sqlite_script("PRAGMA incremental_vacuum; PRAGMA wal_checkpoint(TRUNCATE);")

    def analyze(self) -> None:
        """Refresh the query planner's statistics (``ANALYZE``)."""
        if self.is_postgresql:  # on the writer: the readers' statement timeout must not apply
            with self.writer.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                    "ANALYZE"
                )
            return
        self._sqlite_script("ANALYZE;")

    def _sqlite_script(self, script: str) -> None:
        """Statements run on the driver itself, outside any transaction SQLAlchemy opens."""
        raw = self.writer.raw_connection()
        try:
            raw.driver_connection.executescript(script)
        finally:
            raw.close()

    def ping(self) -> None:
        with self.reader.connect() as connection:
            connection.execute(text("SELECT 1"))

    def dispose(self) -> None:
        for engine in {self.reader, self.writer, self.single}:
            engine.dispose()


def normalize_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and use psycopg 3 for them."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def open_database(
    url: str,
    *,
    pool_size: int = 10,
    synchronous: str = "full",
    read_timeout_seconds: int = 30,
    sqlite_cache_mib: int = 64,
) -> Database:
    """Engines for ``url``; the SQLite file's folder is created when missing."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _open_sqlite(url, parsed.database, pool_size, synchronous, sqlite_cache_mib)
    if parsed.get_backend_name() == "postgresql":
        # Reads that run longer than this are cancelled by PostgreSQL itself, so that a
        # client that gave up cannot leave a runaway search behind.
        timeout = {"options": f"-c statement_timeout={read_timeout_seconds * 1000}"}
        engine = create_engine(
            url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True,
            connect_args=timeout,
        )  # fmt: skip
        # Writers skip the ping (a round trip per transaction): after a database restart
        # the first write fails (answered AR, or 500), the pool is invalidated and the
        # next one reconnects; nothing accepted is lost.
        writer = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2)
        single = create_engine(
            url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True,
            isolation_level="AUTOCOMMIT", connect_args=timeout,
        )  # fmt: skip
        return Database(reader=engine, writer=writer, url=url, single=single)
    raise ValueError(f"unsupported database URL {url!r}: use sqlite:///… or postgresql://…")


def _open_sqlite(
    url: str, path: str | None, pool_size: int, synchronous: str, cache_mib: int
) -> Database:
    if not path or path == ":memory:":
        raise ValueError("an in-memory SQLite database cannot be shared; give a file path")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    reader = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, **options)
    writer = create_engine(url, pool_size=2, max_overflow=8, **options)
    single = create_engine(url, pool_size=pool_size, max_overflow=pool_size * 2, **options)
    for engine, begin in ((reader, "BEGIN"), (writer, "BEGIN IMMEDIATE"), (single, None)):
        _configure_sqlite(engine, begin=begin, synchronous=synchronous, cache_mib=cache_mib)
    return Database(reader=reader, writer=writer, url=url, single=single)


def _configure_sqlite(
    engine: Engine, *, begin: str | None, synchronous: str, cache_mib: int = 64
) -> None:
    """Pragmas on every connection; ``begin`` None leaves statements in autocommit."""
    if synchronous.upper() not in ("FULL", "NORMAL"):
        raise ValueError(f"sqlite synchronous must be full or normal, not {synchronous!r}")

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN itself (pysqlite's own is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")  # new files: purges can free space
        cursor.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
        cursor.execute(f"PRAGMA synchronous={synchronous.upper()}")  # FULL: an ACK is on disk
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # per connection: the server's memory grows by up to this much per pooled connection
        cursor.execute(f"PRAGMA cache_size=-{int(cache_mib) * 1024}")
        cursor.close()

    if begin is None:
        return  # a single statement is atomic in SQLite by itself

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(begin)
