"""Grant steps: authorization codes, refresh tokens and EHR launch contexts.

Each is a random secret handed out once and kept here only as its SHA-256 digest. Codes
and refresh tokens are single use (RFC 6749 §4.1.2, OAuth 2.0 Security BCP §4.14): the
steps of one authorization share a ``family``, and presenting a step already used means
a copy has leaked, so the whole family is revoked together with the access tokens it
issued (their ids go to ``auth_spent_id``, where the resource server looks).
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from pacsbridge.store.auth_tables import auth_grant, auth_spent_id
from pacsbridge.store.database import Database
from pacsbridge.store.resources import utc_now
from pacsbridge.store.spent_ids import note_revoked, revoked_access_key

KINDS = ("code", "refresh", "launch")


class Redemption(enum.Enum):
    """What presenting a code or refresh token found."""

    OK = "ok"  # valid: now marked used
    UNKNOWN = "unknown"  # never issued, or of another kind
    EXPIRED = "expired"
    REPLAYED = "replayed"  # used or revoked before: the family is revoked now


@dataclass(frozen=True)
class GrantStep:
    digest: str
    kind: str
    client_id: str | None
    user_pk: int | None
    scope: str
    context: dict[str, Any]  # patient, redirect_uri, code_challenge, nonce, ...
    family: str | None
    expires_at: datetime
    used_at: datetime | None
    revoked: bool

    @property
    def usable(self) -> bool:
        return not self.revoked and self.used_at is None and self.expires_at > utc_now()


def digest_of(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _step(row: Any) -> GrantStep:
    return GrantStep(
        row.digest,
        row.kind,
        row.client_id,
        row.user_pk,
        row.scope,
        orjson.loads(row.context),
        row.family,
        row.expires_at,
        row.used_at,
        row.revoked,
    )


def save_step(
    database: Database,
    secret: str,
    *,
    kind: str,
    lifetime: timedelta,
    client_id: str | None = None,
    user_pk: int | None = None,
    scope: str = "",
    context: dict[str, Any] | None = None,
    family: str | None = None,
    access: tuple[str, datetime] | None = None,
) -> None:
    """Keep a new step; ``access`` is the id and expiry of the access token issued with it."""
    assert kind in KINDS, kind
    with database.writer.begin() as connection:
        connection.execute(
            insert(auth_grant).values(
                digest=digest_of(secret),
                kind=kind,
                client_id=client_id,
                user_pk=user_pk,
                scope=scope,
                context=orjson.dumps(context or {}).decode(),
                family=family,
                expires_at=utc_now() + lifetime,
                revoked=False,
                access_jti=access[0] if access else None,
                access_expires_at=access[1] if access else None,
            )
        )


def find_step(database: Database, secret: str, kind: str) -> GrantStep | None:
    """The step of this kind for ``secret``, used or not; None when there is none."""
    with database.single.connect() as connection:
        row = connection.execute(
            select(auth_grant).where(
                auth_grant.c.digest == digest_of(secret), auth_grant.c.kind == kind
            )
        ).first()
    return _step(row) if row else None


def redeem(database: Database, secret: str, kind: str) -> tuple[Redemption, GrantStep | None]:
    """Use a code or refresh token once; a second use revokes its family (see above)."""
    digest = digest_of(secret)
    with database.writer.begin() as connection:
        row = connection.execute(
            select(auth_grant)
            .where(auth_grant.c.digest == digest, auth_grant.c.kind == kind)
            .with_for_update()
        ).first()
        if row is None:
            return Redemption.UNKNOWN, None
        step = _step(row)
        if step.used_at is not None or step.revoked:
            _revoke_family(connection, step)
            return Redemption.REPLAYED, step
        if step.expires_at <= utc_now():
            return Redemption.EXPIRED, step
        connection.execute(
            update(auth_grant).where(auth_grant.c.digest == digest).values(used_at=utc_now())
        )
    return Redemption.OK, step


def note_access(database: Database, secret: str, jti: str, expires_at: datetime) -> None:
    """Remember the access token a redeemed code issued, to revoke it if the code is replayed."""
    with database.writer.begin() as connection:
        connection.execute(
            update(auth_grant)
            .where(auth_grant.c.digest == digest_of(secret))
            .values(access_jti=jti, access_expires_at=expires_at)
        )


def revoke_family(database: Database, step: GrantStep) -> None:
    """Revoke every step of ``step``'s family and the access tokens they issued."""
    with database.writer.begin() as connection:
        _revoke_family(connection, step)


def _revoke_family(connection: Connection, step: GrantStep) -> None:
    same = auth_grant.c.family == step.family if step.family else auth_grant.c.digest == step.digest
    now = utc_now()
    issued = connection.execute(
        select(auth_grant.c.access_jti, auth_grant.c.access_expires_at).where(
            same, auth_grant.c.access_jti.is_not(None), auth_grant.c.access_expires_at > now
        )
    ).all()
    connection.execute(update(auth_grant).where(same).values(revoked=True))
    if issued:
        rows = [{"jti": revoked_access_key(jti), "expires_at": until} for jti, until in issued]
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        connection.execute(dialect.insert(auth_spent_id).values(rows).on_conflict_do_nothing())
        note_revoked([str(row["jti"]) for row in rows])


def forget_expired(database: Database, grace: timedelta = timedelta(days=1)) -> int:
    """Delete steps expired longer than ``grace`` ago (kept a while to detect late replays)."""
    with database.writer.begin() as connection:
        result = connection.execute(
            delete(auth_grant).where(auth_grant.c.expires_at < utc_now() - grace)
        )
    return result.rowcount or 0
