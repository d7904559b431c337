"""Token ids that may not be used again: revoked access tokens and seen client assertions.

A row lives until the token it stands for would have expired anyway; after that the
token's own ``exp`` refuses it, so the maintenance loop deletes the row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from pacsbridge.store.auth_tables import auth_spent_id
from pacsbridge.store.database import Database
from pacsbridge.store.resources import utc_now

_REVOKED = "revoked:"


def revoked_access_key(jti: str) -> str:
    """The row that marks access token ``jti`` revoked."""
    return f"{_REVOKED}{jti}"


_revoked_here: set[str] = set()
"""Revocation keys this process wrote: its own gate refuses them at once (see tokens.py)."""


def note_revoked(keys: list[str]) -> None:
    _revoked_here.update(k for k in keys if k.startswith(_REVOKED))


def revoked_here(key: str) -> bool:
    return key in _revoked_here


def revoked_keys(database: Database) -> set[str]:
    """Every revocation still in force, from every process."""
    with database.single.connect() as connection:
        found = connection.execute(
            select(auth_spent_id.c.jti).where(
                auth_spent_id.c.jti.startswith(_REVOKED), auth_spent_id.c.expires_at >= utc_now()
            )
        ).scalars()
        return set(found)


def spend(database: Database, key: str, expires_at: datetime) -> bool:
    """Record ``key``; False when it was already recorded (a replay)."""
    try:
        with database.writer.begin() as connection:
            connection.execute(auth_spent_id.insert().values(jti=key, expires_at=expires_at))
    except IntegrityError:
        return False
    note_revoked([key])
    return True


def is_spent(database: Database, key: str) -> bool:
    with database.single.connect() as connection:
        found = connection.execute(
            select(auth_spent_id.c.jti).where(auth_spent_id.c.jti == key)
        ).first()
    return found is not None


def forget_expired(database: Database) -> int:
    with database.writer.begin() as connection:
        result = connection.execute(
            delete(auth_spent_id).where(auth_spent_id.c.expires_at < utc_now())
        )
    return result.rowcount or 0
