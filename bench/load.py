"""Loading the synthetic resources through the store API, in-process, batch by batch.

400,000 HTTP posts would take far longer than the measurements, and the point is to
measure reads and searches, not the HTTP write path; so each batch is one
``store.transaction()`` (validation, history, index and hooks all run as for a POST).
SQLite stores are cached under ``bench/results/`` per stage (``<db>-<P>p-<O>o``): a later
stage starts from a copy of the previous one and loads only the difference. The cache does
not know which pacsbridge built it: pass ``--fresh`` after changing the store or the index.
"""

from __future__ import annotations

import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import synth
from sqlalchemy import create_engine, text

from pacsbridge.app import build_store
from pacsbridge.config import Settings

BATCH = 1000
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_NAME = "pacsbridge_bench"


@dataclass
class Loaded:
    """Where a stage's data lives, and how fast the part loaded by this run went."""

    data_dir: Path
    database_url: str
    patients: int
    others: int
    loaded: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float | None:
        return self.loaded / self.seconds if self.loaded and self.seconds else None


def postgres_url() -> str:
    return PG_ADMIN.rsplit("/", 1)[0] + f"/{PG_NAME}"


def recreate_postgres(drop_only: bool = False) -> None:
    """A fresh benchmark database (PostgreSQL runs are not cached), or drop it at the end."""
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_NAME}" WITH (FORCE)'))
        if not drop_only:
            connection.execute(text(f'CREATE DATABASE "{PG_NAME}"'))
    admin.dispose()


def _load(settings: Settings, patients: tuple[int, int], others: tuple[int, int]) -> float:
    """Create patients ``[a, b)`` and others ``[c, d)``; the seconds it took."""
    store = build_store(settings)
    started = time.perf_counter()
    total = (patients[1] - patients[0]) + (others[1] - others[0])
    done = 0
    jobs = [("p", n) for n in range(*patients)] + [("o", n) for n in range(*others)]
    try:
        for start in range(0, len(jobs), BATCH):
            with store.transaction() as transaction:
                for kind, n in jobs[start : start + BATCH]:
                    if kind == "p":
                        transaction.create(synth.patient(n), res_id=synth.patient_id(n))
                    else:
                        res_id, body = synth.other(n, patients[1])
                        transaction.create(body, res_id=res_id)
            done = min(start + BATCH, total)
            elapsed = time.perf_counter() - started
            print(f"\r  loaded {done:>7}/{total} ({done / elapsed:,.0f} resources/s)",
                  end="", file=sys.stderr, flush=True)  # fmt: skip
    finally:
        store.database.dispose()
    print(file=sys.stderr)
    return time.perf_counter() - started


def ensure_stage(
    database: str, results: Path, previous: Loaded | None, patients: int, others: int
) -> Loaded:
    """The store at ``patients``/``others``, reusing the cache or the previous stage."""
    if database == "postgresql":
        url = postgres_url()
        have_p, have_o = (previous.patients, previous.others) if previous else (0, 0)
        if previous is None:
            recreate_postgres()
        data_dir = results / "postgresql-data"
    else:
        data_dir = results / f"sqlite-{patients}p-{others}o"
        url = f"sqlite:///{(data_dir / 'pacsbridge.db').resolve()}"
        if (data_dir / "complete").exists():
            print(f"  cached: {data_dir}", file=sys.stderr)
            return Loaded(data_dir, url, patients, others)
        shutil.rmtree(data_dir, ignore_errors=True)
        have_p = have_o = 0
        if previous is not None:
            shutil.copytree(previous.data_dir, data_dir)
            (data_dir / "complete").unlink(missing_ok=True)
            have_p, have_o = previous.patients, previous.others
    settings = Settings(data_dir=data_dir, database_url=url)
    seconds = _load(settings, (have_p, patients), (have_o, others))
    if database == "sqlite":
        (data_dir / "complete").write_text(f"{patients} {others}\n")
    loaded = (patients - have_p) + (others - have_o)
    return Loaded(data_dir, url, patients, others, loaded, seconds)


def cancel_stray_queries() -> int:
    """Cancel queries still running in the benchmark database; how many there were.

    PostgreSQL only notices that a client went away when it sends rows, so a search that
    timed out keeps a backend busy after its server process has exited, and would slow
    down whatever is measured next.
    """
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        cancelled = connection.execute(
            text("SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity "
                 "WHERE datname = :name AND state = 'active' AND pid <> pg_backend_pid()"),
            {"name": PG_NAME},
        ).scalar_one()  # fmt: skip
    admin.dispose()
    return int(cancelled)


def clear_cache(results: Path) -> None:
    """Forget the cached SQLite stages: they were built by an older store or index code."""
    for stage in results.glob("sqlite-*p-*o"):
        shutil.rmtree(stage)


def write_ids(path: Path, patients: int) -> None:
    """The ids the read benchmark picks from, one per line, for wrk's Lua script."""
    path.write_text("".join(f"{synth.patient_id(n)}\n" for n in range(patients)))
