"""What the authorization server publishes: SMART configuration and our public keys.

``/.well-known/smart-configuration`` under the FHIR base (and at the root) is how a SMART
app finds the endpoints (SMART App Launch 2.x, "Conformance"); ``/auth/jwks`` lets anyone
check the tokens and id_tokens we sign. Only S256 is listed for PKCE: ``plain`` is not
offered because it is not accepted.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.urls import ServerUrls, server_urls
from pacsbridge.config import Settings

CAPABILITIES = [
    "launch-ehr",
    "launch-standalone",
    "authorize-post",
    "client-public",
    "client-confidential-symmetric",
    "client-confidential-asymmetric",
    "context-ehr-patient",
    "context-standalone-patient",
    "sso-openid-connect",
    "permission-offline",
    "permission-online",
    "permission-patient",
    "permission-user",
    "permission-v1",
    "permission-v2",
]
SCOPES = [
    "openid",
    "fhirUser",
    "launch",
    "launch/patient",
    "offline_access",
    "online_access",
    "patient/*.rs",
    "patient/*.cruds",
    "user/*.rs",
    "user/*.cruds",
    "system/*.rs",
    "system/*.cruds",
    "patient/*.read",
    "user/*.read",
    "system/*.read",
]
_CACHE = {"Cache-Control": "public, max-age=300"}
Endpoint = Callable[[Request], Awaitable[JSONResponse]]


def smart_configuration(urls: ServerUrls) -> dict[str, Any]:
    return {
        "issuer": urls.auth,
        "jwks_uri": urls.auth + "/jwks",
        "authorization_endpoint": urls.auth + "/authorize",
        "token_endpoint": urls.token,
        "introspection_endpoint": urls.auth + "/introspect",
        "revocation_endpoint": urls.auth + "/revoke",
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
        ],
        "token_endpoint_auth_signing_alg_values_supported": ["RS384", "ES384"],
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": CAPABILITIES,
    }


def smart_configuration_endpoint(settings: Settings) -> Endpoint:
    async def endpoint(request: Request) -> JSONResponse:
        return JSONResponse(
            smart_configuration(server_urls(request.scope, settings.base_url)), headers=_CACHE
        )

    return endpoint


def jwks_endpoint(keys: KeyRing) -> Endpoint:
    async def endpoint(request: Request) -> JSONResponse:
        keys_now = await run_in_threadpool(keys.public_jwks)
        return JSONResponse(keys_now, headers={"Cache-Control": "public, max-age=60"})

    return endpoint
