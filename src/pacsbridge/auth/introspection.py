"""``POST /auth/introspect`` (RFC 7662): is this token active, and what does it allow?

For resource servers and operators: the caller authenticates as a registered
confidential or backend client, or sends an administrator's bearer token (in the
``open`` mode the trusted network is administrator). An inactive, expired, revoked or
unknown token is only ``{"active": false}`` (§2.2): nothing more is said about it.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from pacsbridge.auth.client_auth import authenticate_client, presents_credentials
from pacsbridge.auth.oauth_error import OAuthError, error_response, oauth_json, read_form
from pacsbridge.auth.principal import NotAuthenticated, principal_of
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.auth.tokens import verify_access_token
from pacsbridge.auth.urls import ServerUrls
from pacsbridge.store.grants import find_step
from pacsbridge.store.users import get_user

_ACCESS_CLAIMS = (
    "scope",
    "client_id",
    "exp",
    "iat",
    "sub",
    "iss",
    "aud",
    "patient",
    "fhirUser",
    "jti",
)


async def introspect(server: AuthorizationServer, request: Request) -> JSONResponse:
    try:
        form = await read_form(request)
        if presents_credentials(request, form):
            caller = await authenticate_client(server, request, form)
            if not caller.authenticated:
                raise OAuthError("invalid_client", "introspection is for confidential clients", 401)
        elif not principal_of(request.scope).is_admin:
            raise OAuthError(
                "invalid_client",
                "authenticate as a confidential client or send an administrator's bearer token",
                401,
            )
        if not form.get("token"):
            raise OAuthError("invalid_request", "token is missing")
    except OAuthError as exc:
        return error_response(exc)
    answer = await run_in_threadpool(describe_token, server, server.urls(request), form["token"])
    return oauth_json(answer)


def describe_token(server: AuthorizationServer, urls: ServerUrls, token: str) -> dict[str, Any]:
    if token.count(".") == 2:
        try:
            claims = verify_access_token(server.keys, server.database, token, audiences={urls.fhir})
        except NotAuthenticated:
            return {"active": False}
        found = {name: claims[name] for name in _ACCESS_CLAIMS if name in claims}
        return {"active": True, "token_type": "Bearer", **found}
    step = find_step(server.database, token, "refresh")
    if step is None or not step.usable:
        return {"active": False}
    user = get_user(server.database, step.user_pk) if step.user_pk is not None else None
    if user is None or not user.active:
        return {"active": False}
    answer: dict[str, Any] = {
        "active": True,
        "token_type": "refresh_token",
        "scope": step.scope,
        "client_id": step.client_id,
        "sub": user.username,
        "iss": urls.auth,
        "exp": int(step.expires_at.replace(tzinfo=UTC).timestamp()),
    }
    if step.context.get("patient"):
        answer["patient"] = step.context["patient"]
    return answer
