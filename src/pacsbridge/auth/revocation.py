"""``POST /auth/revoke`` (RFC 7009): a client gives up a token it holds.

An access token's id is refused from now until it would expire; a refresh token takes
its whole grant with it (every rotated token and the access tokens they issued). The
answer is 200 whether or not the token was known (§2.2), so it reveals nothing; only a
client that fails to authenticate is told so.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from pacsbridge.auth.client_auth import authenticate_client
from pacsbridge.auth.oauth_error import OAuthError, error_response, oauth_json, read_form
from pacsbridge.auth.principal import NotAuthenticated
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.auth.tokens import expiry_of
from pacsbridge.store.clients import Client
from pacsbridge.store.grants import find_step, revoke_family
from pacsbridge.store.spent_ids import revoked_access_key, spend


async def revoke(server: AuthorizationServer, request: Request) -> JSONResponse:
    try:
        form = await read_form(request)
        caller = await authenticate_client(server, request, form)
        if not form.get("token"):
            raise OAuthError("invalid_request", "token is missing")
    except OAuthError as exc:
        return error_response(exc)
    hint = form.get("token_type_hint")
    await run_in_threadpool(revoke_token, server, caller.client, form["token"], hint)
    return oauth_json({})


def revoke_token(
    server: AuthorizationServer, client: Client, token: str, hint: str | None = None
) -> bool:
    """Revoke ``token`` if it was issued to ``client``; whether something was revoked."""
    tries = (_refresh, _access) if hint == "refresh_token" else (_access, _refresh)
    return any(attempt(server, client, token) for attempt in tries)


def _access(server: AuthorizationServer, client: Client, token: str) -> bool:
    if token.count(".") != 2:
        return False
    try:
        claims = server.keys.decode(token)
    except NotAuthenticated:
        return False
    if claims.get("client_id") != client.client_id or "jti" not in claims or "exp" not in claims:
        return False
    spend(server.database, revoked_access_key(str(claims["jti"])), expiry_of(claims))
    return True


def _refresh(server: AuthorizationServer, client: Client, token: str) -> bool:
    step = find_step(server.database, token, "refresh")
    if step is None or step.client_id != client.client_id:
        return False
    revoke_family(server.database, step)
    return True
