"""The database layer: PostgreSQL cancels runaway reads, and the search says so."""

from __future__ import annotations

import pytest

from pacsbridge.errors import TooCostly
from pacsbridge.store.database import open_database
from pacsbridge.store.search.params import load_registry
from pacsbridge.store.search.parse import parse_search
from pacsbridge.store.search.query import run_search


def test_a_runaway_postgresql_read_is_cancelled_and_reported_as_too_costly(tmp_path, database_url):
    """statement_timeout on the read engines; the search answers TooCostly, not a 500."""

    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no statement timeout; its reads run in process")
    database = open_database(database_url, read_timeout_seconds=1)
    try:
        with database.reader.begin() as connection:
            connection.exec_driver_sql("SET LOCAL statement_timeout = 50")
            request = parse_search("Patient", [("name", "a")], load_registry())
            original = connection.execute

            def slow(statement, *args, **kwargs):  # the search's first query sleeps first
                connection.exec_driver_sql("SELECT pg_sleep(1)")
                return original(statement, *args, **kwargs)

            connection.execute = slow  # type: ignore[method-assign]
            with pytest.raises(TooCostly):
                run_search(connection, request, load_registry())
    finally:
        database.dispose()


def test_the_sqlite_page_cache_follows_the_setting(tmp_path):
    from pacsbridge.store import open_database

    database = open_database(f"sqlite:///{tmp_path / 'small.db'}", sqlite_cache_mib=2)
    with database.single.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA cache_size").scalar() == -2048
    database.dispose()
