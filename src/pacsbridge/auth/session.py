"""``/auth/login`` and ``/auth/logout``: the browser session of the console and the viewer.

No OAuth client here: a right password sets the ``pacsbridge_session`` cookie to an
access token of our own console client, which the auth middleware accepts like a bearer
token. Staff and administrators get ``user/*.cruds``; a patient gets ``patient/*.rs`` in
the context of their own Patient. The cookie is HttpOnly, SameSite=Lax and Secure over
HTTPS; signing out revokes the token itself, not only the cookie.
"""

from __future__ import annotations

import re

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pacsbridge.auth.csrf import binding, browser_secret, is_https, remember_browser, same_browser
from pacsbridge.auth.login import sign_in
from pacsbridge.auth.middleware import SESSION_COOKIE
from pacsbridge.auth.principal import NotAuthenticated
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.auth.tokens import Grantee, expiry_of, issue_access_token
from pacsbridge.store.spent_ids import revoked_access_key, spend
from pacsbridge.store.users import User

CONSOLE_CLIENT_ID = "pacsbridge-console"
_ACTION = "/auth/login"
_LOCAL_PATH = re.compile(r"/(?![/\\])[^\s\\]*")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this server only, never another site."""
    if target and _LOCAL_PATH.fullmatch(target) and target.isprintable():
        return target
    return "/"


def session_grantee(user: User) -> Grantee:
    """A patient reads their own compartment; staff and administrators work on everything."""
    is_patient = user.role == "patient"
    return Grantee(
        subject=user.username,
        client_id=CONSOLE_CLIENT_ID,
        scope="patient/*.rs" if is_patient else "user/*.cruds",
        kind="user",
        patient=user.patient_id if is_patient else None,
        fhir_user=user.fhir_user_reference,
        role=user.role,
    )


async def login(server: AuthorizationServer, request: Request) -> Response:
    secret, new = browser_secret(request)
    if request.method == "GET":
        target = safe_next(request.query_params.get("next"))
        answer: Response = _form(server, target, binding(secret))
    else:
        form = await request.form()
        target = safe_next(str(form.get("next", "")))
        if not same_browser(request, str(form.get("form_token", ""))):
            answer = server.pages.error(
                "This form belongs to another browser", "Open the sign-in page again."
            )
        else:
            username = str(form.get("username", ""))
            result = await sign_in(
                server.database,
                username,
                str(form.get("password", "")),
                server.settings.login_max_failures,
            )
            if result.user is None:
                answer = _form(
                    server,
                    target,
                    binding(secret),
                    failed=result.retry_after or -1,
                    username=username,
                )
            else:
                answer = await run_in_threadpool(_signed_in, server, request, result.user, target)
    if new:
        remember_browser(answer, secret, secure=is_https(request))
    return answer


def _form(
    server: AuthorizationServer, target: str, bound: str, *, failed: int = 0, username: str = ""
) -> Response:
    return server.pages.sign_in_form(
        action=_ACTION,
        failed=failed,
        username=username,
        hidden=[("next", target), ("form_token", bound)],
    )


def _signed_in(server: AuthorizationServer, request: Request, user: User, target: str) -> Response:
    urls = server.urls(request)
    lifetime = server.settings.access_token_seconds
    token, _ = issue_access_token(
        server.keys, session_grantee(user), issuer=urls.auth, audience=urls.fhir, lifetime=lifetime
    )
    answer = RedirectResponse(target, status_code=303)
    answer.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=lifetime,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )
    answer.headers["Cache-Control"] = "no-store"
    return answer


async def logout(server: AuthorizationServer, request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(_revoke, server, token)
    answer = server.pages.render("signed_out.html", title="Signed out")
    answer.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_https(request)
    )
    return answer


def _revoke(server: AuthorizationServer, token: str) -> None:
    try:
        claims = server.keys.decode(token)
    except NotAuthenticated:
        return
    if "jti" in claims and "exp" in claims:
        spend(server.database, revoked_access_key(str(claims["jti"])), expiry_of(claims))
