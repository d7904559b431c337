"""Client authentication by a signed JWT: SMART Backend Services, RFC 7523 ``private_key_jwt``.

The client signs a short assertion with its private key (RS384 or ES384); we check it
against the public keys it registered. What SMART App Launch 2.x (Backend Services,
"authentication JWT") requires: ``iss`` = ``sub`` = the client id, ``aud`` = our token
endpoint URL, ``exp`` at most five minutes ahead, a ``jti`` never used before (a replay
is refused: we remember every ``jti`` until its ``exp``), and a ``kid`` in the header.
"""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from starlette.concurrency import run_in_threadpool

from pacsbridge.auth.client_keys import ClientKeys
from pacsbridge.auth.oauth_error import invalid_client
from pacsbridge.store.clients import Client, get_client
from pacsbridge.store.database import Database
from pacsbridge.store.spent_ids import spend

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ["RS384", "ES384"]
LONGEST_LIFETIME_SECONDS = 300
SKEW_SECONDS = 10


async def verify_assertion(
    database: Database, client_keys: ClientKeys, assertion: str, token_url: str
) -> Client:
    """The client that signed ``assertion``; ``invalid_client`` for anything wrong."""
    header, unverified = _peek(assertion)
    client_id = unverified.get("iss")
    if not isinstance(client_id, str) or unverified.get("sub") != client_id:
        raise invalid_client("the assertion's iss and sub must both be the client_id")
    client = await run_in_threadpool(get_client, database, client_id)
    if client is None or not client.active or not client.has_keys:
        raise invalid_client(f"client {client_id!r} is not registered with public keys")
    if header.get("alg") not in ALGORITHMS:
        raise invalid_client(f"the assertion must be signed with {' or '.join(ALGORITHMS)}")
    if not isinstance(header.get("kid"), str):
        raise invalid_client("the assertion's header names no kid")
    try:
        try:
            claims = _verified(assertion, await client_keys.key_set(client))
        except InvalidKeyIdError:
            claims = _verified(assertion, await client_keys.key_set(client, refetch=True))
    except InvalidKeyIdError as exc:
        raise invalid_client(f"key {header['kid']!r} is not registered for {client_id}") from exc
    except (JoseError, ValueError) as exc:
        raise invalid_client(f"the assertion's signature does not verify: {exc}") from exc
    expires = _check_claims(claims, client_id, token_url)
    if not await run_in_threadpool(spend, database, _spent_key(client_id, claims["jti"]), expires):
        raise invalid_client("this assertion was used before (jti replayed)")
    return client


def _spent_key(client_id: str, jti: str) -> str:
    key = f"assertion:{client_id}:{jti}"
    if len(key) <= 200:  # the column's width
        return key
    return "assertion:sha256:" + hashlib.sha256(f"{client_id}:{jti}".encode()).hexdigest()


def _peek(assertion: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims, unverified: only to find whose keys to verify with."""
    try:
        head, body, _ = assertion.split(".")
        header, claims = (
            orjson.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))) for p in (head, body)
        )
    except ValueError as exc:
        raise invalid_client("the client_assertion is not a signed JWT") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise invalid_client("the client_assertion is not a signed JWT")
    return header, claims


def _verified(assertion: str, keys: KeySet) -> dict[str, Any]:
    return dict(jwt.decode(assertion, keys, algorithms=ALGORITHMS).claims)


def _check_claims(claims: dict[str, Any], client_id: str, token_url: str) -> datetime:
    """The assertion's expiry, once its claims are as SMART requires."""
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise invalid_client("the assertion's iss and sub must both be the client_id")
    audience = claims.get("aud")
    named = audience if isinstance(audience, list) else [audience]
    if token_url not in named:
        raise invalid_client(f"the assertion's aud must be the token endpoint {token_url}")
    now, exp = time.time(), claims.get("exp")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise invalid_client("the assertion has no exp")
    if exp < now - SKEW_SECONDS:
        raise invalid_client("the assertion has expired")
    if exp > now + LONGEST_LIFETIME_SECONDS + SKEW_SECONDS:
        raise invalid_client("the assertion's exp is more than five minutes ahead")
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and nbf > now + SKEW_SECONDS:
        raise invalid_client("the assertion is not valid yet (nbf)")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise invalid_client("the assertion needs a jti (1 to 255 characters)")
    return datetime.fromtimestamp(exp, UTC).replace(tzinfo=None)
