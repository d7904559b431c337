"""Access tokens: signed JWTs that carry the grant, checked on every request.

A token names its issuer, audience (the FHIR base URL), subject, client, scopes and, for
a patient launch, the patient. The resource server needs no database row to trust one,
only the key ring; revocation adds one indexed lookup of the token id.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.principal import NotAuthenticated, Principal
from pacsbridge.auth.scopes import Scopes
from pacsbridge.store.database import Database
from pacsbridge.store.spent_ids import is_spent, revoked_access_key, revoked_here, revoked_keys

CLOCK_SKEW_SECONDS = 30


@dataclass(frozen=True)
class Grantee:
    """To whom a token is issued, and in which context."""

    subject: str
    client_id: str
    scope: str
    kind: str  # user patient system
    patient: str | None = None
    fhir_user: str | None = None
    role: str | None = None


def issue_access_token(
    keys: KeyRing, grantee: Grantee, *, issuer: str, audience: str, lifetime: int
) -> tuple[str, dict[str, Any]]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer, "aud": audience, "sub": grantee.subject, "client_id": grantee.client_id,
        "scope": grantee.scope, "kind": grantee.kind, "iat": now, "exp": now + lifetime,
        "jti": uuid.uuid4().hex,
    }  # fmt: skip
    for name, value in (("patient", grantee.patient), ("fhirUser", grantee.fhir_user),
                        ("role", grantee.role)):  # fmt: skip
        if value:
            claims[name] = value
    return keys.sign(claims), claims


def verify_access_token(
    keys: KeyRing, database: Database, token: str, *, audiences: set[str]
) -> dict[str, Any]:
    """The token's claims, if it is ours, current, for us and not revoked (one DB lookup)."""
    claims = _checked(keys.decode(token), audiences)
    if is_spent(database, revoked_access_key(str(claims["jti"]))):
        raise NotAuthenticated("the access token has been revoked")
    return claims


class TokenVerifier:
    """Verifies the tokens of every request without a database round trip for each.

    A token's signature is checked once and its claims kept (apps send the same token for
    an hour); expiry and audience are checked every time. Revoked token ids are held in
    memory: those revoked by this process at once, those revoked by another process of a
    deployment from the next refresh, at most ``refresh_seconds`` later.
    """

    def __init__(self, keys: KeyRing, database: Database, refresh_seconds: float = 1.0) -> None:
        self.keys, self.database, self.refresh_seconds = keys, database, refresh_seconds
        self._signed: dict[str, dict[str, Any]] = {}
        self._revoked: set[str] = set()
        self._loaded = float("-inf")

    @property
    def stale(self) -> bool:
        return time.monotonic() - self._loaded > self.refresh_seconds

    def refresh(self) -> None:
        """Reload the revocations of every process (a database read: not on the event loop)."""
        self._revoked = revoked_keys(self.database)
        self._loaded = time.monotonic()

    def verify(self, token: str, audiences: set[str]) -> dict[str, Any]:
        claims = self._signed.get(token)
        if claims is None:
            claims = self.keys.decode(token)
            if len(self._signed) >= _MAX_KEPT:
                self._signed.clear()
            self._signed[token] = claims
        claims = _checked(claims, audiences)
        key = revoked_access_key(str(claims["jti"]))
        if key in self._revoked or revoked_here(key):
            raise NotAuthenticated("the access token has been revoked")
        return claims


_MAX_KEPT = 10_000


def _checked(claims: dict[str, Any], audiences: set[str]) -> dict[str, Any]:
    now = time.time()
    if not isinstance(claims.get("exp"), int) or claims["exp"] + CLOCK_SKEW_SECONDS < now:
        raise NotAuthenticated("the access token has expired")
    if isinstance(claims.get("iat"), int) and claims["iat"] - CLOCK_SKEW_SECONDS > now:
        raise NotAuthenticated("the access token is issued in the future")
    audience = claims.get("aud")
    named = set(audience) if isinstance(audience, list) else {audience}
    if not named & audiences:
        raise NotAuthenticated(f"the access token is for {audience!r}, not this server")
    if "kind" not in claims or "jti" not in claims:
        raise NotAuthenticated("the token is not an access token")
    return claims


def expiry_of(claims: dict[str, Any]) -> datetime:
    """A token's ``exp`` as the tables keep times: naive UTC."""
    return datetime.fromtimestamp(int(claims["exp"]), UTC).replace(tzinfo=None)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    return Principal(
        kind=str(claims["kind"]),
        subject=str(claims.get("sub", "")),
        scopes=Scopes.parse(str(claims.get("scope", ""))),
        client_id=claims.get("client_id"),
        patient=claims.get("patient"),
        fhir_user=claims.get("fhirUser"),
        role=claims.get("role"),
        token_id=str(claims["jti"]),
        claims=claims,
    )
