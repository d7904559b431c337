"""``POST /auth/token``: codes, refresh tokens and client credentials become access tokens.

Three grants (RFC 6749 §4.1.3, §6, §4.4): ``authorization_code`` with the PKCE verifier
(RFC 7636 §4.6), ``refresh_token`` with rotation (a used refresh token presented again
revokes its whole family: OAuth 2.0 Security BCP §4.14.2), and ``client_credentials``
for SMART Backend Services, which must authenticate with a signed assertion. Every
answer is JSON with ``Cache-Control: no-store``; every refusal an RFC 6749 §5.2 error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from pacsbridge.auth.client_auth import CallingClient, authenticate_client
from pacsbridge.auth.oauth_error import OAuthError, error_response, oauth_json, read_form
from pacsbridge.auth.scopes import join, narrow, parse_scope
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.auth.tokens import Grantee, expiry_of, issue_access_token
from pacsbridge.auth.urls import ServerUrls
from pacsbridge.auth.user_tokens import issue_user_tokens
from pacsbridge.store.grants import GrantStep, Redemption, note_access, redeem
from pacsbridge.store.users import User, get_user

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.1


async def token(server: AuthorizationServer, request: Request) -> JSONResponse:
    try:
        form = await read_form(request)
        grant_type = form.get("grant_type")
        if grant_type not in GRANT_TYPES:
            raise OAuthError(
                "unsupported_grant_type", f"grant_type must be one of {', '.join(GRANT_TYPES)}"
            )
        caller = await authenticate_client(server, request, form)
        urls = server.urls(request)
        if grant_type == "client_credentials":
            body = await run_in_threadpool(_client_credentials, server, urls, caller, form)
        elif caller.client.kind == "backend":
            raise OAuthError("unauthorized_client", "a backend client uses client_credentials")
        elif grant_type == "authorization_code":
            body = await run_in_threadpool(_exchange_code, server, urls, caller, form)
        else:
            body = await run_in_threadpool(_refresh, server, urls, caller, form)
    except OAuthError as exc:
        return error_response(exc)
    return oauth_json(body)


def _exchange_code(
    server: AuthorizationServer, urls: ServerUrls, caller: CallingClient, form: dict[str, str]
) -> dict[str, Any]:
    code = form.get("code")
    if not code:
        raise OAuthError("invalid_request", "code is missing")
    outcome, step = redeem(server.database, code, "code")
    if outcome is Redemption.REPLAYED:
        raise OAuthError(
            "invalid_grant", "the code was used before; the tokens issued for it are revoked"
        )
    if outcome is not Redemption.OK or step is None:
        raise OAuthError("invalid_grant", "the code is unknown or has expired")
    if step.client_id != caller.client.client_id:
        raise OAuthError("invalid_grant", "the code was issued to another client")
    if form.get("redirect_uri") != step.context.get("redirect_uri"):
        raise OAuthError("invalid_grant", "redirect_uri differs from the authorization request")
    verifier = form.get("code_verifier", "")
    if not _VERIFIER.fullmatch(verifier):
        raise OAuthError("invalid_grant", "code_verifier is missing or malformed (PKCE)")
    if not hmac.compare_digest(s256(verifier), str(step.context.get("code_challenge"))):
        raise OAuthError("invalid_grant", "code_verifier does not match the code_challenge")
    user = _active_user(server, step)
    body, claims = issue_user_tokens(
        server,
        urls,
        client_id=caller.client.client_id,
        user=user,
        scope=step.scope,
        grant_scope=step.scope,
        context=step.context,
        family=step.family,
    )
    note_access(server.database, code, claims["jti"], expiry_of(claims))
    return body


def _refresh(
    server: AuthorizationServer, urls: ServerUrls, caller: CallingClient, form: dict[str, str]
) -> dict[str, Any]:
    presented = form.get("refresh_token")
    if not presented:
        raise OAuthError("invalid_request", "refresh_token is missing")
    outcome, step = redeem(server.database, presented, "refresh")
    if outcome is Redemption.REPLAYED:
        raise OAuthError(
            "invalid_grant",
            "the refresh token was used before; every token of "
            "this grant is revoked, sign in again",
        )
    if outcome is not Redemption.OK or step is None:
        raise OAuthError("invalid_grant", "the refresh token is unknown or has expired")
    if step.client_id != caller.client.client_id:
        raise OAuthError("invalid_grant", "the refresh token was issued to another client")
    scope = step.scope
    if form.get("scope"):
        asked = form["scope"].split()
        if not set(asked) <= set(step.scope.split()):
            raise OAuthError("invalid_scope", "a refresh may narrow the scope, never widen it")
        scope = join(asked)
    user = _active_user(server, step)
    body, _ = issue_user_tokens(
        server,
        urls,
        client_id=caller.client.client_id,
        user=user,
        scope=scope,
        grant_scope=step.scope,
        context=step.context,
        family=step.family,
    )
    return body


def _client_credentials(
    server: AuthorizationServer, urls: ServerUrls, caller: CallingClient, form: dict[str, str]
) -> dict[str, Any]:
    """SMART Backend Services: ``system/`` scopes for a client proven by its key."""
    if caller.method != "private_key_jwt":
        raise OAuthError(
            "unauthorized_client",
            "client_credentials needs a signed client "
            "assertion (private_key_jwt, SMART Backend Services)",
        )
    client = caller.client
    allowed = narrow(form.get("scope", ""), client.scope)
    scope = join(w for w in allowed.split() if (g := parse_scope(w)) and g.context == "system")
    if not scope:
        raise OAuthError(
            "invalid_scope",
            f"none of the requested system/ scopes is allowed for {client.client_id}",
        )
    lifetime = server.settings.backend_token_seconds
    grantee = Grantee(
        subject=client.client_id, client_id=client.client_id, scope=scope, kind="system"
    )
    access, _ = issue_access_token(
        server.keys, grantee, issuer=urls.auth, audience=urls.fhir, lifetime=lifetime
    )
    return {"access_token": access, "token_type": "Bearer", "expires_in": lifetime, "scope": scope}


def _active_user(server: AuthorizationServer, step: GrantStep) -> User:
    user = get_user(server.database, step.user_pk) if step.user_pk is not None else None
    if user is None or not user.active:
        raise OAuthError("invalid_grant", "the user of this grant is disabled or removed")
    return user


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of a verifier: BASE64URL(SHA256(ASCII(verifier)))."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
