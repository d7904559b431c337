"""The authorization server's signing keys, shared by every process through the database.

The newest key that is not retired signs; every key verifies until it is deleted, so a
rotation never breaks a token already issued. ``retire_older`` is the rotation itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, insert, select, update

from pacsbridge.store.auth_tables import auth_signing_key
from pacsbridge.store.database import Database
from pacsbridge.store.resources import utc_now


@dataclass(frozen=True)
class StoredKey:
    kid: str
    alg: str
    private_jwk: str
    created_at: datetime
    retired_at: datetime | None


def load_keys(database: Database) -> list[StoredKey]:
    """Every key, newest first."""
    with database.reader.connect() as connection:
        rows = connection.execute(
            select(auth_signing_key).order_by(auth_signing_key.c.created_at.desc())
        ).all()
    return [StoredKey(r.kid, r.alg, r.private_jwk, r.created_at, r.retired_at) for r in rows]


def add_key(database: Database, kid: str, alg: str, private_jwk: str) -> None:
    """A new signing key; it signs from now on and the older ones are retired."""
    now = utc_now()
    with database.writer.begin() as connection:
        database.lock(connection, "pacsbridge-signing-keys")
        connection.execute(
            update(auth_signing_key)
            .where(auth_signing_key.c.retired_at.is_(None))
            .values(retired_at=now)
        )
        connection.execute(
            insert(auth_signing_key).values(
                kid=kid, alg=alg, private_jwk=private_jwk, created_at=now
            )
        )


def forget_retired(database: Database, older_than: timedelta) -> int:
    """Delete keys retired longer ago than any token they signed can live."""
    cutoff = utc_now() - older_than
    with database.writer.begin() as connection:
        result = connection.execute(
            delete(auth_signing_key).where(auth_signing_key.c.retired_at < cutoff)
        )
    return result.rowcount or 0
