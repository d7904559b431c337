"""The tokens a user's grant yields: access token, OpenID Connect id_token, refresh token.

Shared by the code exchange and the refresh grant. The access token carries the patient
context and the user's role; the id_token (when ``openid`` is granted) names the user
and, with ``fhirUser``, their FHIR resource. A refresh token is issued when
``offline_access`` or ``online_access`` was granted; it belongs to the grant's family
and rotates at every use (``store/grants.py``).
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from typing import Any

from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.auth.tokens import Grantee, expiry_of, issue_access_token
from pacsbridge.auth.urls import ServerUrls
from pacsbridge.store.grants import save_step
from pacsbridge.store.users import User

REFRESH_SCOPES = frozenset({"offline_access", "online_access"})


def issue_user_tokens(
    server: AuthorizationServer,
    urls: ServerUrls,
    *,
    client_id: str,
    user: User,
    scope: str,
    grant_scope: str,
    context: dict[str, Any],
    family: str | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The token response, and the access token's claims.

    ``scope`` is what this access token gets; ``grant_scope`` what the user granted, which
    the refresh token keeps so that a narrowed refresh can later be widened again.
    """
    lifetime = server.settings.access_token_seconds
    patient = context.get("patient")
    grantee = Grantee(
        subject=user.username,
        client_id=client_id,
        scope=scope,
        kind="user",
        patient=patient,
        fhir_user=user.fhir_user_reference,
        role=user.role,
    )
    token, claims = issue_access_token(
        server.keys, grantee, issuer=urls.auth, audience=urls.fhir, lifetime=lifetime
    )
    body: dict[str, Any] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": scope,
    }
    if patient:
        body["patient"] = patient
    words = set(scope.split())
    if "openid" in words:
        body["id_token"] = _id_token(server, urls, client_id, user, words, context.get("nonce"))
    if REFRESH_SCOPES & set(grant_scope.split()):
        refresh = secrets.token_urlsafe(32)
        save_step(
            server.database,
            refresh,
            kind="refresh",
            client_id=client_id,
            lifetime=timedelta(days=server.settings.refresh_token_days),
            user_pk=user.pk,
            scope=grant_scope,
            context=_refresh_context(context),
            family=family,
            access=(claims["jti"], expiry_of(claims)),
        )
        body["refresh_token"] = refresh
    return body, claims


def _id_token(
    server: AuthorizationServer,
    urls: ServerUrls,
    client_id: str,
    user: User,
    words: set[str],
    nonce: str | None,
) -> str:
    """OpenID Connect Core §2; SMART's ``fhirUser`` claim may be relative to the FHIR base."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": urls.auth,
        "sub": user.username,
        "aud": client_id,
        "iat": now,
        "exp": now + server.settings.access_token_seconds,
    }
    if nonce:
        claims["nonce"] = nonce
    if "fhirUser" in words and user.fhir_user_reference:
        claims["fhirUser"] = user.fhir_user_reference
    if user.display_name and "profile" in words:
        claims["name"] = user.display_name
    return server.keys.sign(claims)


def _refresh_context(context: dict[str, Any]) -> dict[str, Any]:
    """What a refresh keeps of the code's context: the launch, not the PKCE or redirect."""
    return {k: v for k, v in context.items() if k in ("patient",)}
