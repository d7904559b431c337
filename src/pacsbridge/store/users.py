"""The people who sign in: administrators, staff and patients, and their wrong passwords.

A user holds an argon2 hash, never a password (``auth/passwords.py`` makes it). A patient
user is tied to one Patient resource, which becomes the patient context of every token
the user gets. Failed sign-ins are counted per username whether or not the user exists
(``auth_login_throttle``), so a lock says nothing about which usernames are real.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from pacsbridge.errors import BadValue, DuplicateKey
from pacsbridge.store.auth_tables import auth_grant, auth_login_throttle, auth_user
from pacsbridge.store.database import Database
from pacsbridge.store.resources import select_current, utc_now

ROLES = ("admin", "staff", "patient")


@dataclass(frozen=True)
class User:
    pk: int
    username: str
    password_hash: str
    role: str  # admin staff patient
    patient_id: str | None
    fhir_user: str | None  # "Practitioner/x"; a patient user's is its Patient
    display_name: str | None
    active: bool
    created_at: datetime

    @property
    def fhir_user_reference(self) -> str | None:
        """The FHIR resource that is this user (SMART ``fhirUser``), relative."""
        if self.fhir_user:
            return self.fhir_user
        return f"Patient/{self.patient_id}" if self.patient_id else None


def _user(row: Any) -> User:
    return User(
        row.pk,
        row.username,
        row.password_hash,
        row.role,
        row.patient_id,
        row.fhir_user,
        row.display_name,
        row.active,
        row.created_at,
    )


def add_user(
    database: Database,
    *,
    username: str,
    password_hash: str,
    role: str,
    patient_id: str | None = None,
    fhir_user: str | None = None,
    display_name: str | None = None,
) -> User:
    """A new user; a patient user needs its Patient id, staff and admins have none."""
    if role not in ROLES:
        raise BadValue(f"role {role!r} is not one of {', '.join(ROLES)}", "role")
    if (role == "patient") != bool(patient_id):
        raise BadValue("a patient user, and only a patient user, is linked to a Patient", "patient")
    if not username or len(username) > 128 or username != username.strip():
        raise BadValue("a username is 1 to 128 characters without surrounding spaces", "username")
    values: dict[str, Any] = {
        "username": username,
        "password_hash": password_hash,
        "role": role,
        "patient_id": patient_id,
        "fhir_user": fhir_user,
        "display_name": display_name,
        "active": True,
        "created_at": utc_now(),
    }
    try:
        with database.writer.begin() as connection:
            pk = connection.execute(
                insert(auth_user).values(**values).returning(auth_user.c.pk)
            ).scalar_one()
    except IntegrityError as exc:
        raise DuplicateKey(f"user {username!r} exists already", "username") from exc
    return User(pk=pk, **values)


def find_user(database: Database, username: str) -> User | None:
    with database.single.connect() as connection:
        row = connection.execute(select(auth_user).where(auth_user.c.username == username)).first()
    return _user(row) if row else None


def get_user(database: Database, pk: int) -> User | None:
    with database.single.connect() as connection:
        row = connection.execute(select(auth_user).where(auth_user.c.pk == pk)).first()
    return _user(row) if row else None


def list_users(database: Database) -> list[User]:
    with database.reader.connect() as connection:
        rows = connection.execute(select(auth_user).order_by(auth_user.c.username)).all()
    return [_user(row) for row in rows]


def change_user(database: Database, username: str, **values: Any) -> bool:
    """Set ``password_hash`` or ``active``; False when there is no such user."""
    assert set(values) <= {"password_hash", "active"}, "only the password and active change"
    with database.writer.begin() as connection:
        result = connection.execute(
            update(auth_user).where(auth_user.c.username == username).values(**values)
        )
    return bool(result.rowcount)


def remove_user(database: Database, username: str) -> bool:
    """Delete a user and revoke its codes and refresh tokens.

    Revoked here, not just orphaned: SQLite may give the next user the same ``pk``.
    """
    with database.writer.begin() as connection:
        pk = connection.execute(
            select(auth_user.c.pk).where(auth_user.c.username == username)
        ).scalar()
        if pk is None:
            return False
        connection.execute(
            update(auth_grant).where(auth_grant.c.user_pk == pk).values(revoked=True)
        )
        connection.execute(delete(auth_user).where(auth_user.c.pk == pk))
    return True


def patient_exists(database: Database, patient_id: str) -> bool:
    """Whether a current (not deleted) Patient has this id."""
    with database.single.connect() as connection:
        stored = select_current(connection, "Patient", patient_id)
    return stored is not None and not stored.deleted


# --- wrong passwords ---


def throttle_key(username: str) -> str:
    return username.strip().lower()[:128]


def locked_until(database: Database, username: str) -> datetime | None:
    """Until when sign-ins for this username are refused; None when they are not."""
    with database.single.connect() as connection:
        until = connection.execute(
            select(auth_login_throttle.c.locked_until).where(
                auth_login_throttle.c.username == throttle_key(username)
            )
        ).scalar()
    return until if until is not None and until > utc_now() else None


def note_failure(
    database: Database, username: str, lock_seconds: Callable[[int], int]
) -> datetime | None:
    """Count one more wrong password; the lock it brings (``lock_seconds(failures)`` > 0)."""
    key, now = throttle_key(username), utc_now()
    with database.writer.begin() as connection:
        database.lock(connection, f"login:{key}")
        failures = connection.execute(
            select(auth_login_throttle.c.failures).where(auth_login_throttle.c.username == key)
        ).scalar()
        count = (failures or 0) + 1
        seconds = lock_seconds(count)
        until = now + timedelta(seconds=seconds) if seconds > 0 else None
        values = {"failures": count, "locked_until": until, "last_failure_at": now}
        if failures is None:
            connection.execute(insert(auth_login_throttle).values(username=key, **values))
        else:
            connection.execute(
                update(auth_login_throttle)
                .where(auth_login_throttle.c.username == key)
                .values(**values)
            )
    return until


def clear_failures(database: Database, username: str) -> None:
    """A right password ends the run of failures."""
    with database.writer.begin() as connection:
        connection.execute(
            delete(auth_login_throttle).where(
                auth_login_throttle.c.username == throttle_key(username)
            )
        )


def forget_old_failures(database: Database, older_than: timedelta) -> int:
    """Delete counters with no failure for a long time (names tried once and never again)."""
    cutoff = utc_now() - older_than
    with database.writer.begin() as connection:
        result = connection.execute(
            delete(auth_login_throttle).where(auth_login_throttle.c.last_failure_at < cutoff)
        )
    return result.rowcount or 0
