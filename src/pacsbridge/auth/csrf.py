"""Forms that only this browser, in this flow, can submit (login CSRF, consent CSRF).

The first page of a flow gives the browser a random cookie (``pacsbridge_form``,
HttpOnly, SameSite=Lax); each form carries a digest of it, inside the signed pending
request or as a field. A page on another site can make a browser post a form, but it
can neither read that cookie nor guess its digest (OWASP double-submit cookie).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

FORM_COOKIE = "pacsbridge_form"
_VALUE = re.compile(r"[A-Za-z0-9_-]{32,64}")


def browser_secret(request: Request) -> tuple[str, bool]:
    """This browser's form cookie, or a new one; and whether it is new (to be set)."""
    value = request.cookies.get(FORM_COOKIE, "")
    if _VALUE.fullmatch(value):
        return value, False
    return secrets.token_urlsafe(32), True


def binding(secret: str) -> str:
    """What a form carries: a digest of the cookie, never the cookie itself."""
    return hashlib.sha256(b"pacsbridge-form:" + secret.encode()).hexdigest()


def same_browser(request: Request, bound: str) -> bool:
    value = request.cookies.get(FORM_COOKIE, "")
    return bool(_VALUE.fullmatch(value)) and hmac.compare_digest(binding(value), bound)


def remember_browser(response: Response, secret: str, *, secure: bool) -> None:
    response.set_cookie(
        FORM_COOKIE, secret, path="/auth", httponly=True, samesite="lax", secure=secure
    )


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"
