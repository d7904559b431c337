"""The gate of the HTTP side: who is calling, and whether they may come in at all.

Every request passes here first. A bearer token (``Authorization: Bearer``) or the
console's session cookie becomes a :class:`Principal` in the request scope; what the
principal may see is decided later, by each face (``fhir/authorization.py``,
``dicomweb/authorization.py``, the operations API). In the ``required`` mode a protected
path without valid credentials is refused here with 401, pages are redirected to the login.
A token that is sent but not valid is refused in both modes: it is never ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from pacsbridge.auth.audit import AuditTrail
from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.principal import NOBODY, OPEN, SCOPE_KEY, NotAuthenticated, Principal
from pacsbridge.auth.tokens import TokenVerifier, principal_from_claims
from pacsbridge.formats.urls import public_base
from pacsbridge.store.database import Database

SESSION_COOKIE = "pacsbridge_session"

# Open to everyone in every mode: discovery, the login itself, liveness and metrics.
PUBLIC = ("/auth/", "/healthz", "/metrics", "/fhir/R4/metadata", "/fhir/R4/openapi.json",
          "/.well-known/", "/fhir/R4/.well-known/")  # fmt: skip
PAGES = ("/viewer", "/console")  # a browser is sent to the login page instead of a 401
# Refusals recorded in the audit trail, by the face they were aimed at
AUDITED = (("/fhir/", "fhir"), ("/dicomweb", "dicomweb"), ("/console", "console"),
           ("/viewer", "console"), ("/api/", "api"))  # fmt: skip


class AuthMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        mode: str,
        keys: KeyRing,
        database: Database,
        audiences: Callable[[Scope], set[str]],
        audit: AuditTrail | None = None,
    ) -> None:
        self.app, self.mode = app, mode
        self.verifier = TokenVerifier(keys, database)
        self.audiences = audiences
        self.audit = audit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        token, from_cookie = _credentials(scope)
        try:
            principal = await self._principal(scope, token)
        except NotAuthenticated as exc:
            if _is_public(path) or scope["method"] == "OPTIONS":
                principal = NOBODY
            else:
                self._audit_refusal(scope)
                await _refuse(scope, send, str(exc), "invalid_token")
                return
        if (
            principal is NOBODY
            and self.mode == "required"
            and not _is_public(path)
            and scope["method"] != "OPTIONS"  # CORS preflights carry no credentials
        ):
            self._audit_refusal(scope)
            await _refuse(scope, send, "this server requires an access token", None)
            return
        client = scope.get("client")
        scope[SCOPE_KEY] = principal.with_address(client[0] if client else None)
        await self.app(scope, receive, send)

    def _audit_refusal(self, scope: Scope) -> None:
        """A refused attempt on patient data is part of the record an auditor reads."""
        path: str = scope["path"]
        source = next((face for prefix, face in AUDITED if path.startswith(prefix)), None)
        if self.audit is None or source is None or _sent_to_login(scope):
            return
        client = scope.get("client")
        query = scope["query_string"].decode("latin-1")
        self.audit.record(
            NOBODY.with_address(client[0] if client else None), source=source,
            interaction="unauthenticated", action="E", entities=[], patients=[], outcome=401,
            query=f"{scope['method']} {path}" + (f"?{query}" if query else ""), wait=False,
        )  # fmt: skip

    async def _principal(self, scope: Scope, token: str | None) -> Principal:
        if token is None:
            return OPEN if self.mode == "open" else NOBODY
        if self.verifier.stale:
            await run_in_threadpool(self.verifier.refresh)
        return principal_from_claims(self.verifier.verify(token, self.audiences(scope)))


def fhir_audiences(configured: str | None) -> Callable[[Scope], set[str]]:
    """The audiences a token may name: our FHIR base URL as configured or as called."""

    def audiences(scope: Scope) -> set[str]:
        host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
        return {public_base({**scope, "root_path": "/fhir/R4"}, host, configured, "/fhir/R4")}

    return audiences


def _is_public(path: str) -> bool:
    return path == "/" or path.startswith(PUBLIC)


def _credentials(scope: Scope) -> tuple[str | None, bool]:
    """The bearer token, or the session cookie's; and whether it came from the cookie."""
    cookie = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            kind, _, token = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and token.strip():
                return token.strip(), False
        elif name == b"cookie":
            for part in value.decode("latin-1").split(";"):
                key, _, text = part.strip().partition("=")
                if key == SESSION_COOKIE and text:
                    cookie = text
    return cookie, cookie is not None


def _sent_to_login(scope: Scope) -> bool:
    """A browser asking for a page: redirected to the login page, not refused."""
    return scope["path"].startswith(PAGES) and scope["method"] in ("GET", "HEAD")


async def _refuse(scope: Scope, send: Send, text: str, error: str | None) -> None:
    path: str = scope["path"]
    if _sent_to_login(scope):
        target = path + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        location = f"/auth/login?next={quote(target, safe='')}"
        await _send(send, 303, [(b"location", location.encode())], b"")
        return
    challenge = 'Bearer realm="pacsbridge"' + (f', error="{error}"' if error else "")
    headers = [(b"www-authenticate", challenge.encode())]
    if path.startswith("/dicomweb") and any(name == b"origin" for name, _ in scope["headers"]):
        # as the mount's CORS middleware would: a viewer elsewhere must see this 401
        headers += [(b"access-control-allow-origin", b"*"),
                    (b"access-control-expose-headers", b"WWW-Authenticate")]  # fmt: skip
    if path.startswith("/fhir/"):
        body = {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "login", "diagnostics": text}],
        }
        headers.append((b"content-type", b"application/fhir+json"))
    else:
        body = {"type": "about:blank", "title": "Unauthorized", "status": 401, "detail": text}
        headers.append((b"content-type", b"application/problem+json"))
    await _send(send, 401, headers, orjson.dumps(body))


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
