"""Opening the database for a CLI verb, and saying what to do when it cannot be opened.

Every verb that works on the store (serve, db upgrade, reindex, messages, outbox, users,
clients, keys) opens it through here, so an unreachable PostgreSQL, a wrong password, a
malformed URL or a data dir that may not be written is one readable line with the flag
to change, never a SQLAlchemy traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from pacsbridge.config import Settings

if TYPE_CHECKING:
    from pacsbridge.store import Database, Store

err = Console(stderr=True, soft_wrap=True)  # paths and commands whole, never cut
WHERE = "--database-url (or PACSBRIDGE_DATABASE_URL, or database_url in pacsbridge.toml)"


def shown_url(url: str) -> str:
    """The URL as it may be printed: without its password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


@contextmanager
def database_errors(settings: Settings) -> Iterator[None]:
    """Turn the ways a database fails to open into an error line and exit code 1."""
    from sqlalchemy.exc import ArgumentError, DBAPIError

    url = shown_url(settings.effective_database_url())
    try:
        yield
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        _fail(f"cannot use the database {url}: {reason}",
              "Is the database server running and reachable, and the user, password and "
              f"database name right? Check {WHERE}.")  # fmt: skip
        raise typer.Exit(1) from exc
    except (ArgumentError, ValueError) as exc:
        if not isinstance(exc, ArgumentError) and "database URL" not in str(exc):
            raise  # not about the URL: a bug to see whole
        _fail(f"the database URL {url} is not usable: {exc}",
              f"Write it as sqlite:///FILE or postgresql://USER@HOST/DB in {WHERE}.")  # fmt: skip
        raise typer.Exit(2) from exc
    except OSError as exc:
        if exc.filename is None:
            raise  # not a file: a socket, which serve explains
        _fail(f"cannot create or write {exc.filename}: {exc.strerror}",
              "Choose a --data-dir (or a SQLite file in --database-url) this user may "
              "write to.")  # fmt: skip
        raise typer.Exit(1) from exc


def _fail(text: str, hint: str) -> None:
    err.print(f"[red]error:[/red] {text}", highlight=False, markup=True)
    err.print(hint, highlight=False, markup=False)


def open_migrated(settings: Settings) -> Database:
    """The database of ``settings``, migrated to this version's schema."""
    from pacsbridge.store import open_database
    from pacsbridge.store.migrate import upgrade

    with database_errors(settings):
        database = open_database(settings.effective_database_url())
        upgrade(database)
    return database


def open_store(settings: Settings) -> Store:
    """The store of ``settings``, with its rules, as the server builds it."""
    from pacsbridge.app import build_store

    with database_errors(settings):
        return build_store(settings)
