"""``/auth/authorize``: sign-in, consent, and the authorization code (RFC 6749 §4.1).

The request arrives by GET, or by POST as a form (SMART ``authorize-post``), and is
checked (``authorize_request.py``). The user signs in (or is signed in already with the
console's session), then sees what the app asks for and allows or denies it. Allowing
redirects to the app with a code: random, kept only as its SHA-256 digest, good once and
for 60 seconds, bound to the client, redirect URI, PKCE challenge, user, scopes and
patient context. Denying redirects with ``error=access_denied``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pacsbridge.auth.authorize_request import (
    AuthorizationRequest,
    RedirectedError,
    RequestPageError,
    check_request,
    redirect_to,
)
from pacsbridge.auth.consent import Offer, Refusal, chosen, describe, offer
from pacsbridge.auth.csrf import binding, browser_secret, is_https, remember_browser, same_browser
from pacsbridge.auth.login import sign_in
from pacsbridge.auth.pending import Pending, seal, unseal
from pacsbridge.auth.principal import NotAuthenticated, principal_of
from pacsbridge.auth.scopes import parse_scope
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.auth.session import CONSOLE_CLIENT_ID
from pacsbridge.store.grants import save_step
from pacsbridge.store.users import User, find_user, get_user

CODE_SECONDS = 60
_ACTION = "/auth/authorize"


async def authorize(server: AuthorizationServer, request: Request) -> Response:
    if request.method == "POST":
        form = await request.form()
        if "pending" in form:
            return await _next_step(server, request, form)
        pairs = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    else:
        pairs = list(request.query_params.multi_items())
    checked = await _check(server, request, pairs)
    if isinstance(checked, Response):
        return checked
    secret, new = browser_secret(request)
    user = await run_in_threadpool(_console_user, server, request)
    # Signing reads the key ring (now and then the database): off the event loop.
    if user is not None:
        answer = await run_in_threadpool(_consent_page, server, checked, user, binding(secret))
    else:
        sealed = await run_in_threadpool(seal, server.keys, checked.params, binding(secret))
        answer = _login_page(server, checked, sealed)
    if new:
        remember_browser(answer, secret, secure=is_https(request))
    return answer


async def _next_step(server: AuthorizationServer, request: Request, form: FormData) -> Response:
    try:
        pending = await run_in_threadpool(unseal, server.keys, str(form["pending"]))
    except NotAuthenticated:
        return server.pages.error(
            "This form has expired", "The sign-in took too long or the form was altered."
        )
    if not same_browser(request, pending.bound):
        return server.pages.error(
            "This form belongs to another browser", "Open the application again in this browser."
        )
    checked = await _check(server, request, list(pending.params.items()))
    if isinstance(checked, Response):
        return checked
    if pending.user_pk is None:
        return await _signed_in(server, checked, pending, form)
    user = await run_in_threadpool(get_user, server.database, pending.user_pk)
    if user is None or not user.active:
        return server.pages.error("Your account is disabled", "Ask your administrator.", 403)
    try:
        offered = offer(checked, user)
    except Refusal as exc:
        return _back(checked.refused(exc.error, exc.description))
    if form.get("decision") != "approve":
        return _back(checked.refused("access_denied", "the user denied access"))
    scope = chosen(offered.scope, [str(v) for v in form.getlist("scope")])
    if not any(parse_scope(word) for word in scope.split()):
        return _back(checked.refused("access_denied", "the user allowed no data scope"))
    code = await run_in_threadpool(_issue_code, server, checked, user, offered, scope)
    return RedirectResponse(
        redirect_to(checked.redirect_uri, code=code, state=checked.state), status_code=303
    )


async def _signed_in(
    server: AuthorizationServer,
    checked: AuthorizationRequest,
    pending: Pending,
    form: FormData,
) -> Response:
    username, password = str(form.get("username", "")), str(form.get("password", ""))
    result = await sign_in(server.database, username, password, server.settings.login_max_failures)
    if result.user is None:
        sealed = await run_in_threadpool(seal, server.keys, pending.params, pending.bound)
        return _login_page(
            server, checked, sealed, failed=result.retry_after or -1, username=username
        )
    return await run_in_threadpool(_consent_page, server, checked, result.user, pending.bound)


async def _check(
    server: AuthorizationServer, request: Request, pairs: list[tuple[str, str]]
) -> AuthorizationRequest | Response:
    fhir_base = server.urls(request).fhir
    try:
        return await run_in_threadpool(check_request, pairs, server.database, fhir_base)
    except RequestPageError as exc:
        return server.pages.error("This application cannot be authorized", str(exc))
    except RedirectedError as exc:
        return _back(exc)


def _back(error: RedirectedError) -> Response:
    return RedirectResponse(error.location(), status_code=303)


def _login_page(
    server: AuthorizationServer,
    checked: AuthorizationRequest,
    sealed: str,
    *,
    failed: int = 0,
    username: str = "",
) -> Response:
    """The sign-in form; ``failed`` < 0 after a wrong password, > 0 seconds while locked."""
    return server.pages.sign_in_form(
        action=_ACTION,
        hidden=[("pending", sealed)],
        failed=failed,
        username=username,
        client_name=checked.client.name,
    )


def _consent_page(
    server: AuthorizationServer, checked: AuthorizationRequest, user: User, bound: str
) -> Response:
    try:
        offered = offer(checked, user)
    except Refusal as exc:
        return _back(checked.refused(exc.error, exc.description))
    sealed = seal(server.keys, checked.params, bound, user.pk)
    return server.pages.render(
        "consent.html",
        title=f"Allow {checked.client.name}?",
        action=_ACTION,
        hidden=[("pending", sealed)],
        username=user.display_name or user.username,
        client_name=checked.client.name,
        patient=offered.patient,
        scopes=[(word, describe(word)) for word in offered.scope.split()],
    )


def _console_user(server: AuthorizationServer, request: Request) -> User | None:
    """The user already signed in to this browser with the console's session, if any."""
    principal = principal_of(request.scope)
    if principal.client_id != CONSOLE_CLIENT_ID or principal.kind != "user":
        return None
    user = find_user(server.database, principal.subject)
    return user if user is not None and user.active else None


def _issue_code(
    server: AuthorizationServer,
    checked: AuthorizationRequest,
    user: User,
    offered: Offer,
    scope: str,
) -> str:
    code = secrets.token_urlsafe(32)
    context = {
        "redirect_uri": checked.redirect_uri,
        "code_challenge": checked.code_challenge,
        "nonce": checked.nonce,
        "patient": offered.patient,
    }
    save_step(
        server.database,
        code,
        kind="code",
        lifetime=timedelta(seconds=CODE_SECONDS),
        client_id=checked.client.client_id,
        user_pk=user.pk,
        scope=scope,
        context={k: v for k, v in context.items() if v is not None},
        family=secrets.token_hex(16),
    )
    return code
