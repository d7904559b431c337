"""Registered OAuth clients: the apps and services allowed to ask for tokens.

An administrator registers each one (CLI or ``/auth/clients``): its redirect URIs, matched
character for character; the most it may ever be granted (``scope``); and how it proves
who it is: nothing (a public app, which must use PKCE), a secret (stored as an argon2
hash), or a key pair whose public half is registered as a JWK Set (SMART Backend
Services and asymmetric confidential apps).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from pacsbridge.errors import BadValue, DuplicateKey
from pacsbridge.store.auth_tables import auth_client, auth_grant
from pacsbridge.store.database import Database
from pacsbridge.store.resources import utc_now

KINDS = ("public", "confidential", "backend")


@dataclass(frozen=True)
class Client:
    client_id: str
    name: str
    kind: str  # public confidential backend
    secret_hash: str | None
    redirect_uris: tuple[str, ...]
    scope: str
    jwks: str | None  # a JWK Set as JSON text
    jwks_url: str | None
    active: bool
    created_at: datetime

    @property
    def has_keys(self) -> bool:
        return bool(self.jwks or self.jwks_url)

    def public_view(self) -> dict[str, Any]:
        """What the registration API shows: everything but the secret's hash."""
        return {
            "client_id": self.client_id,
            "name": self.name,
            "kind": self.kind,
            "redirect_uris": list(self.redirect_uris),
            "scope": self.scope,
            "jwks": orjson.loads(self.jwks) if self.jwks else None,
            "jwks_url": self.jwks_url,
            "active": self.active,
            "created_at": self.created_at.isoformat() + "Z",
        }


def _client(row: Any) -> Client:
    return Client(
        row.client_id,
        row.name,
        row.kind,
        row.secret_hash,
        tuple(orjson.loads(row.redirect_uris)),
        row.scope,
        row.jwks,
        row.jwks_url,
        row.active,
        row.created_at,
    )


def add_client(
    database: Database,
    *,
    client_id: str,
    name: str,
    kind: str,
    scope: str,
    secret_hash: str | None = None,
    redirect_uris: tuple[str, ...] = (),
    jwks: str | None = None,
    jwks_url: str | None = None,
) -> Client:
    """Register a client; the registration must fit its kind (see the checks)."""
    _check(client_id, kind, secret_hash, redirect_uris, jwks, jwks_url)
    row: dict[str, Any] = {
        "client_id": client_id,
        "name": name or client_id,
        "kind": kind,
        "secret_hash": secret_hash,
        "redirect_uris": orjson.dumps(list(redirect_uris)).decode(),
        "scope": " ".join(scope.split()),
        "jwks": jwks,
        "jwks_url": jwks_url,
        "active": True,
        "created_at": utc_now(),
    }
    try:
        with database.writer.begin() as connection:
            connection.execute(insert(auth_client).values(**row))
    except IntegrityError as exc:
        raise DuplicateKey(f"client {client_id!r} is registered already", "client_id") from exc
    return Client(
        client_id,
        row["name"],
        kind,
        secret_hash,
        tuple(redirect_uris),
        row["scope"],
        jwks,
        jwks_url,
        True,
        row["created_at"],
    )


def _check(
    client_id: str,
    kind: str,
    secret_hash: str | None,
    redirect_uris: tuple[str, ...],
    jwks: str | None,
    jwks_url: str | None,
) -> None:
    if kind not in KINDS:
        raise BadValue(f"kind {kind!r} is not one of {', '.join(KINDS)}", "kind")
    if not client_id or len(client_id) > 128 or not client_id.isprintable() or " " in client_id:
        raise BadValue("a client id is 1 to 128 printable characters without spaces", "client_id")
    if kind == "confidential" and not secret_hash:
        raise BadValue("a confidential client needs a secret", "client_secret")
    if kind == "backend" and not (jwks or jwks_url):
        raise BadValue("a backend client needs its public keys: jwks or jwks_url", "jwks")
    if kind != "backend" and not redirect_uris:
        raise BadValue(f"a {kind} client needs at least one redirect URI", "redirect_uris")
    for uri in redirect_uris:
        if "#" in uri or not uri.startswith(("https://", "http://")):
            raise BadValue(
                f"redirect URI {uri!r} must be an absolute http(s) URL without a fragment",
                "redirect_uris",
            )
    if jwks is not None:
        try:
            keys = orjson.loads(jwks).get("keys")
        except (orjson.JSONDecodeError, AttributeError) as exc:
            raise BadValue('jwks must be a JWK Set: {"keys": [...]}', "jwks") from exc
        if not isinstance(keys, list) or not keys:
            raise BadValue("jwks must be a JWK Set with at least one key", "jwks")
        if any(isinstance(k, dict) and "d" in k for k in keys):
            raise BadValue("jwks holds a private key: register only the public keys", "jwks")
    if jwks_url is not None and not jwks_url.startswith(("https://", "http://")):
        raise BadValue("jwks_url must be an http(s) URL", "jwks_url")


def get_client(database: Database, client_id: str) -> Client | None:
    with database.single.connect() as connection:
        row = connection.execute(
            select(auth_client).where(auth_client.c.client_id == client_id)
        ).first()
    return _client(row) if row else None


def list_clients(database: Database) -> list[Client]:
    with database.reader.connect() as connection:
        rows = connection.execute(select(auth_client).order_by(auth_client.c.client_id)).all()
    return [_client(row) for row in rows]


def remove_client(database: Database, client_id: str) -> bool:
    """Delete a registration and revoke its refresh tokens: the id may be registered again."""
    with database.writer.begin() as connection:
        result = connection.execute(delete(auth_client).where(auth_client.c.client_id == client_id))
        connection.execute(
            update(auth_grant).where(auth_grant.c.client_id == client_id).values(revoked=True)
        )
    return bool(result.rowcount)
