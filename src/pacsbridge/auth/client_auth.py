"""Which client is calling the token, revocation or introspection endpoint, proven how.

RFC 6749 §2.3: a confidential client authenticates with its secret, in HTTP Basic
(``client_secret_basic``, the form-encoded id and secret) or in the form
(``client_secret_post``), or with a signed assertion (``private_key_jwt``, RFC 7523,
see ``client_assertion.py``). A public client only names itself with ``client_id``; PKCE
then stands in for a secret it could not keep. One method per request (§2.3).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_plus

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from pacsbridge.auth.client_assertion import ASSERTION_TYPE, verify_assertion
from pacsbridge.auth.oauth_error import OAuthError, invalid_client
from pacsbridge.auth.passwords import check_secret
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.store.clients import Client, get_client


@dataclass(frozen=True)
class CallingClient:
    client: Client
    method: str  # none client_secret_basic client_secret_post private_key_jwt

    @property
    def authenticated(self) -> bool:
        return self.method != "none"


def presents_credentials(request: Request, form: Mapping[str, str]) -> bool:
    """Whether the request tries to authenticate a client at all (not just name one)."""
    return _basic(request) is not None or "client_secret" in form or "client_assertion" in form


async def authenticate_client(
    server: AuthorizationServer, request: Request, form: Mapping[str, str]
) -> CallingClient:
    basic = _basic(request)
    methods = [basic is not None, "client_secret" in form, "client_assertion" in form]
    if sum(methods) > 1:
        raise OAuthError("invalid_request", "use exactly one client authentication method")
    named = form.get("client_id")
    if "client_assertion" in form:
        if form.get("client_assertion_type") != ASSERTION_TYPE:
            raise invalid_client(f"client_assertion_type must be {ASSERTION_TYPE}")
        client = await verify_assertion(
            server.database,
            server.client_keys,
            form["client_assertion"],
            server.urls(request).token,
        )
        if named and named != client.client_id:
            raise invalid_client("client_id differs from the assertion's issuer")
        return CallingClient(client, "private_key_jwt")
    if basic is not None or "client_secret" in form:
        client_id, secret = basic if basic is not None else (named or "", form["client_secret"])
        if basic is not None and named and named != client_id:
            raise invalid_client("client_id differs from the HTTP Basic user")
        found = await run_in_threadpool(get_client, server.database, client_id)
        stored = found.secret_hash if found is not None and found.active else None
        if found is None or not await run_in_threadpool(check_secret, stored, secret):
            error = invalid_client("client authentication failed")
            error.basic_challenge = basic is not None
            raise error
        return CallingClient(found, "client_secret_basic" if basic else "client_secret_post")
    if not named:
        raise invalid_client("the request names no client (client_id) and authenticates none")
    found = await run_in_threadpool(get_client, server.database, named)
    if found is None or not found.active:
        raise invalid_client(f"client {named!r} is not registered")
    if found.kind != "public":
        raise invalid_client(f"client {named!r} is confidential: it must authenticate")
    return CallingClient(found, "none")


def _basic(request: Request) -> tuple[str, str] | None:
    kind, _, value = request.headers.get("authorization", "").partition(" ")
    if kind.lower() != "basic":
        return None
    try:
        text = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ("", "")  # malformed: fails as a wrong secret would
    client_id, _, secret = text.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)
