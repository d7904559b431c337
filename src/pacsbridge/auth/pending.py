"""An authorization request in flight between its pages, sealed with our signing key.

The sign-in and consent forms carry the request's parameters as a short-lived JWT we
signed, with the browser binding of ``csrf.py`` and, after sign-in, the user. Nothing is
kept on the server until a code is issued, and a form cannot be altered to ask for more:
the parameters are checked again from the sealed copy at every step. It is no access
token (no ``kind``, no audience), so the resource server refuses it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.principal import NotAuthenticated

PENDING_SECONDS = 15 * 60
_USE = "pacsbridge-authorize"


@dataclass(frozen=True)
class Pending:
    params: dict[str, str]
    bound: str  # csrf.binding() of the browser's form cookie
    user_pk: int | None  # None before sign-in


def seal(keys: KeyRing, params: dict[str, str], bound: str, user_pk: int | None = None) -> str:
    now = int(time.time())
    return keys.sign(
        {
            "use": _USE,
            "req": params,
            "bnd": bound,
            "user": user_pk,
            "iat": now,
            "exp": now + PENDING_SECONDS,
        }
    )


def unseal(keys: KeyRing, token: str) -> Pending:
    """The sealed request; NotAuthenticated when it is not ours, altered or too old."""
    claims = keys.decode(token)
    if claims.get("use") != _USE or not isinstance(claims.get("req"), dict):
        raise NotAuthenticated("not an authorization form")
    if not isinstance(claims.get("exp"), int) or claims["exp"] < time.time():
        raise NotAuthenticated("the form has expired")
    user = claims.get("user")
    return Pending(
        {str(k): str(v) for k, v in claims["req"].items()},
        str(claims.get("bnd")),
        user if isinstance(user, int) else None,
    )
