"""The administrators' HTTP API of the authorization server: clients and EHR launches.

``/auth/clients`` registers, lists and removes clients (an administrator only: a user with
role admin, a backend client with ``system/*.cruds``, or anyone in the ``open`` mode);
``POST /auth/launch`` creates an EHR launch for a patient (staff or administrators).
Answers are JSON; refusals are RFC 9457 problem details, as the operations API writes them.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pacsbridge.auth.principal import NOBODY, Principal, principal_of
from pacsbridge.auth.registration import LAUNCH_SECONDS, create_launch, register_client
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.errors import BadValue, DuplicateKey, PacsbridgeError, UnknownKey
from pacsbridge.store.clients import get_client, list_clients, remove_client

_STATUS = {BadValue: 400, UnknownKey: 404, DuplicateKey: 409}


def _problem(status: int, detail: str) -> JSONResponse:
    titles = {
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        409: "Conflict",
    }
    body = {
        "type": "about:blank",
        "title": titles.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="pacsbridge"'} if status == 401 else None
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def _refusal(principal: Principal, what: str) -> JSONResponse:
    if principal is NOBODY or principal.kind == "anonymous":
        return _problem(401, f"{what} needs an access token")
    return _problem(403, f"{what} is for administrators")


def _error(exc: PacsbridgeError) -> JSONResponse:
    status = next((code for cls, code in _STATUS.items() if isinstance(exc, cls)), 400)
    return _problem(status, exc.text)


async def clients(server: AuthorizationServer, request: Request) -> Response:
    principal = principal_of(request.scope)
    if not principal.is_admin:
        return _refusal(principal, "client registration")
    if request.method == "GET":
        found = await run_in_threadpool(list_clients, server.database)
        return JSONResponse([client.public_view() for client in found])
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _problem(400, "send the registration as a JSON object")
    if not isinstance(body, dict):
        return _problem(400, "send the registration as a JSON object")
    try:
        client, secret = await run_in_threadpool(_register, server, body)
    except PacsbridgeError as exc:
        return _error(exc)
    view = client.public_view()
    if secret:
        view["client_secret"] = secret  # shown this once
    return JSONResponse(view, status_code=201, headers={"Cache-Control": "no-store"})


def _register(server: AuthorizationServer, body: dict[str, Any]) -> tuple[Any, str | None]:
    uris = body.get("redirect_uris") or []
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise BadValue("redirect_uris must be a list of URLs", "redirect_uris")
    text = {name: body.get(name) for name in ("client_id", "name", "kind", "scope", "jwks_url")}
    if not all(value is None or isinstance(value, str) for value in text.values()):
        raise BadValue("client_id, name, kind, scope and jwks_url are strings")
    jwks = body.get("jwks")
    if jwks is not None and not isinstance(jwks, dict):
        raise BadValue("jwks must be a JWK Set object", "jwks")
    return register_client(
        server.database,
        client_id=text["client_id"],
        name=text["name"] or "",
        kind=text["kind"] or "",
        scope=text["scope"] or "",
        redirect_uris=uris,
        jwks=jwks,
        jwks_url=text["jwks_url"],
    )


async def client(server: AuthorizationServer, request: Request) -> Response:
    principal = principal_of(request.scope)
    if not principal.is_admin:
        return _refusal(principal, "client registration")
    client_id = request.path_params["client_id"]
    if request.method == "DELETE":
        removed = await run_in_threadpool(remove_client, server.database, client_id)
        return Response(status_code=204) if removed else _problem(404, f"no client {client_id}")
    found = await run_in_threadpool(get_client, server.database, client_id)
    if found is None:
        return _problem(404, f"no client {client_id}")
    return JSONResponse(found.public_view())


async def launch(server: AuthorizationServer, request: Request) -> Response:
    principal = principal_of(request.scope)
    if not (principal.is_admin or principal.role == "staff"):
        return _refusal(principal, "an EHR launch")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _problem(400, 'send {"patient": "<Patient id>"}')
    else:
        body = dict(await request.form())
    patient = body.get("patient") if isinstance(body, dict) else None
    try:
        made = await run_in_threadpool(create_launch, server.database, patient)
    except PacsbridgeError as exc:
        return _error(exc)
    return JSONResponse(
        {
            "launch": made,
            "patient": str(patient).removeprefix("Patient/"),
            "expires_in": LAUNCH_SECONDS,
        },
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )
