"""Schema migrations: bring the database to the newest Alembic revision.

``pacsbridge serve`` runs this at start-up, so an upgraded program upgrades its database;
``pacsbridge db upgrade`` runs it alone (for a deployment that migrates before rolling out).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from pacsbridge.store.database import Database

MIGRATIONS = Path(__file__).with_name("migrations")


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    """Upgrade under a lock, so that several processes starting together migrate once."""
    config = _config()
    with database.writer.begin() as connection:
        database.lock(connection, "pacsbridge-migrations")
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(database: Database) -> str | None:
    with database.reader.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_config()).get_current_head()
