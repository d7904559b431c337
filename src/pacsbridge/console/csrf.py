"""Forms only the console's own pages can submit (cross-site request forgery).

The console changes clinical data, so SameSite=Lax on the session cookie is not enough
alone (a same-site page, an old browser, a top-level POST all slip past it). Every
console form carries a token that a page on another site can neither read nor compute:

- signed in, it is an HMAC keyed with the session cookie itself, so it lives as long as
  the session, needs no server-side secret or state, and is the same in every process;
- without a session (the ``open`` mode) it is an HMAC keyed with a random cookie of this
  browser (HttpOnly, SameSite=Strict), made on the first page: a double-submit cookie
  (OWASP CSRF cheat sheet) whose value never appears in a page.

A POST must also not come from another origin (``Origin``, ``Sec-Fetch-Site``) when the
browser says where it comes from. A request that authenticates with an ``Authorization``
header carries no ambient credential a foreign page could borrow, so it needs no token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from pacsbridge.auth.middleware import SESSION_COOKIE

FIELD = "csrf_token"
BROWSER_COOKIE = "pacsbridge_console"
_LABEL = b"pacsbridge console form v1"
_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")


def _digest(secret: str) -> str:
    return hmac.new(secret.encode(), _LABEL, hashlib.sha256).hexdigest()


def _secret(request: Request) -> str | None:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return session
    own = request.cookies.get(BROWSER_COOKIE, "")
    return own if _VALUE.fullmatch(own) else None


def form_token(request: Request) -> tuple[str, str | None]:
    """The token for this browser's forms, and a new browser secret to set, if one is needed."""
    secret = _secret(request)
    if secret is not None:
        return _digest(secret), None
    fresh = secrets.token_urlsafe(32)
    return _digest(fresh), fresh


def remember_browser(response: Response, secret: str, *, secure: bool) -> None:
    response.set_cookie(BROWSER_COOKIE, secret, path="/console", httponly=True,
                        samesite="strict", secure=secure)  # fmt: skip


def _bearer(request: Request) -> bool:
    kind, _, token = request.headers.get("authorization", "").partition(" ")
    return kind.lower() == "bearer" and bool(token.strip())


def _same_origin(request: Request) -> bool:
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not every browser sends it: the token decides
    return urlsplit(origin).netloc == request.headers.get("host", "")


def is_genuine(request: Request, submitted: str | None) -> bool:
    """Whether a POST comes from a console page of this browser (or from a script)."""
    if _bearer(request):
        return True
    secret = _secret(request)
    if secret is None or not submitted or not _same_origin(request):
        return False
    return hmac.compare_digest(_digest(secret), submitted)
