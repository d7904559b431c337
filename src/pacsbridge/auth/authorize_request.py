"""The authorization request (RFC 6749 §4.1.1, SMART App Launch 2.x), checked.

Who is asking and where the answer goes are checked first, and a failure there is shown
to the user as a page, never redirected: a redirect to a URI not registered, even one
character off, would hand codes or errors to whoever wrote it (RFC 6749 §4.1.2.1,
§10.6; the Security BCP asks exact string matching). Every later error goes back to the
registered redirect URI with ``error``, ``error_description`` and ``state``.

PKCE with S256 is required of every client (SMART 2.x; ``plain`` is never accepted), and
``aud`` must name our FHIR base URL, so a token cannot be phished for another server.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

from pacsbridge.auth.scopes import narrow
from pacsbridge.store.clients import Client, get_client
from pacsbridge.store.database import Database
from pacsbridge.store.grants import find_step
from pacsbridge.store.resources import utc_now

_CHALLENGE = re.compile(r"[A-Za-z0-9._~-]{43,128}")  # RFC 7636 §4.2
# Kept through the sign-in and consent steps, re-checked at each.
PARAMETERS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "aud",
    "code_challenge",
    "code_challenge_method",
    "launch",
    "nonce",
)


class RequestPageError(Exception):
    """An error shown on our page (400): the client or its redirect URI is not known."""


class RedirectedError(Exception):
    """An error sent back to the app at its registered redirect URI."""

    def __init__(self, redirect_uri: str, state: str | None, error: str, description: str):
        super().__init__(description)
        self.redirect_uri, self.state = redirect_uri, state
        self.error, self.description = error, description

    def location(self) -> str:
        return redirect_to(
            self.redirect_uri,
            error=self.error,
            error_description=self.description,
            state=self.state,
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    client: Client
    redirect_uri: str
    scope: str  # as requested, narrowed to what the client's registration allows
    state: str | None
    code_challenge: str
    nonce: str | None
    launch: str | None  # an EHR launch id
    launch_patient: str | None  # the patient of that launch
    params: dict[str, str]  # what was asked, to carry through the next steps

    def refused(self, error: str, description: str) -> RedirectedError:
        return RedirectedError(self.redirect_uri, self.state, error, description)


def redirect_to(uri: str, **params: str | None) -> str:
    """``uri`` with ``params`` added to its query (RFC 6749 §4.1.2: keep its own query)."""
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def check_request(
    pairs: Sequence[tuple[str, str]], database: Database, fhir_base: str
) -> AuthorizationRequest:
    """The request in ``pairs`` (query or form), or the error it deserves."""
    params: dict[str, str] = {}
    repeated = set()
    for name, value in pairs:
        if name in PARAMETERS:
            if name in params:
                repeated.add(name)
            params[name] = value
    client_id = params.get("client_id", "")
    client = get_client(database, client_id) if client_id else None
    if client is None or not client.active or client.kind == "backend":
        raise RequestPageError(
            f"The application {client_id!r} is not registered here."
            if client_id
            else "The request names no application (client_id)."
        )
    redirect_uri = params.get("redirect_uri", "")
    if redirect_uri not in client.redirect_uris or "redirect_uri" in repeated:
        raise RequestPageError(
            f"The return address {redirect_uri!r} is not registered for "
            f"{client.name}; nothing was sent to it."
        )
    state = params.get("state")

    def refuse(error: str, description: str) -> RedirectedError:
        return RedirectedError(redirect_uri, state, error, description)

    if repeated:
        raise refuse("invalid_request", f"repeated parameters: {', '.join(sorted(repeated))}")
    if params.get("response_type") != "code":
        raise refuse("unsupported_response_type", "only response_type=code is supported")
    if params.get("aud", "").rstrip("/") != fhir_base.rstrip("/"):
        raise refuse("invalid_request", f"aud must be this server's FHIR base URL {fhir_base}")
    challenge = params.get("code_challenge", "")
    if not challenge:
        raise refuse("invalid_request", "PKCE is required: send code_challenge (S256)")
    if params.get("code_challenge_method") != "S256":
        raise refuse("invalid_request", "code_challenge_method must be S256 (plain is refused)")
    if not _CHALLENGE.fullmatch(challenge):
        raise refuse("invalid_request", "code_challenge is not a base64url S256 challenge")
    scope = narrow(params.get("scope", ""), client.scope)
    if not scope.split():
        raise refuse("invalid_scope", f"none of the requested scopes is allowed for {client_id}")
    launch, launch_patient = params.get("launch"), None
    if launch:
        step = find_step(database, launch, "launch")
        if step is None or step.revoked:
            raise refuse("invalid_request", "the launch is unknown")
        if step.expires_at <= utc_now():
            raise refuse("invalid_request", "the launch has expired: launch the app again")
        launch_patient = step.context.get("patient")
    return AuthorizationRequest(
        client=client,
        redirect_uri=redirect_uri,
        scope=scope,
        state=state,
        code_challenge=challenge,
        nonce=params.get("nonce"),
        launch=launch,
        launch_patient=launch_patient,
        params=params,
    )
