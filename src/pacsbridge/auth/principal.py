"""Who is asking: the principal every face checks before it touches data.

The auth middleware builds one per HTTP request from the bearer token or the session
cookie and leaves it in the request scope; faces read it with :func:`principal_of`. In the
``open`` mode a request without a token is the trusted network itself (:data:`OPEN`),
allowed everything; a token, when one is sent, always limits the request to its grants.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from pacsbridge.auth.scopes import Grant, Scopes

SCOPE_KEY = "pacsbridge.principal"


class Forbidden(Exception):
    """The principal may not do this (HTTP 403); the text says which grant is missing."""


class NotAuthenticated(Exception):
    """No usable credentials (HTTP 401); the text says what was wrong with them."""


@dataclass(frozen=True)
class Principal:
    """An authenticated caller, or the open network."""

    kind: str  # open anonymous user patient system
    subject: str  # username, client id, or "anonymous"
    scopes: Scopes
    client_id: str | None = None
    patient: str | None = None  # the patient context: a Patient id
    fhir_user: str | None = None  # "Practitioner/x", "Patient/y"
    role: str | None = None  # admin staff patient (users); None for clients
    token_id: str | None = None
    address: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_open(self) -> bool:
        return self.kind == "open"

    @property
    def is_admin(self) -> bool:
        """May use the operations API and read the audit trail."""
        if self.is_open or self.role == "admin":
            return True
        return self.kind == "system" and any(
            g.context == "system" and g.resource == "*" and g.actions == frozenset("cruds")
            for g in self.scopes.grants
        )

    def grants_for(self, resource_type: str, action: str) -> list[Grant]:
        """The grants allowing ``action`` (one of c r u d s) on the type; [] when none."""
        if self.is_open:
            return [Grant("system", "*", frozenset("cruds"))]
        return self.scopes.covering(resource_type, action)

    def with_address(self, address: str | None) -> Principal:
        return Principal(**{**self.__dict__, "address": address})


OPEN = Principal(kind="open", subject="anonymous", scopes=Scopes("", ()))
NOBODY = Principal(kind="anonymous", subject="anonymous", scopes=Scopes("", ()))
"""No credentials where they are required: allowed nothing (fail closed)."""


def principal_of(scope: MutableMapping[str, Any]) -> Principal:
    """The principal the middleware found for this request; nobody when there is none."""
    return scope.get(SCOPE_KEY) or NOBODY
