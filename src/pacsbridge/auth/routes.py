"""The routes of the authorization server, all in one table (mounted at ``/auth``).

Endpoints a browser app calls from script (token, revoke, introspect, keys, discovery)
answer CORS requests from any origin: they use no cookies, and SMART public clients run
in the browser. The pages and the admin API do not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route

from pacsbridge.auth import admin_api
from pacsbridge.auth.authorize import authorize
from pacsbridge.auth.discovery import jwks_endpoint, smart_configuration_endpoint
from pacsbridge.auth.introspection import introspect
from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.pages import Pages
from pacsbridge.auth.revocation import revoke
from pacsbridge.auth.server import AuthorizationServer
from pacsbridge.auth.session import login, logout
from pacsbridge.auth.token_endpoint import token
from pacsbridge.config import Settings
from pacsbridge.store import Store

MAX_FORM_BYTES = 64 * 1024
_CORS = [
    Middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type"],
        max_age=600,
    )
]


def authorization_routes(store: Store, settings: Settings, keys: KeyRing) -> list[BaseRoute]:
    server = AuthorizationServer(store, settings, keys, Pages(open_mode=settings.auth == "open"))

    def form(
        path: str, endpoint: Callable[..., Any], methods: list[str], cors: bool = False
    ) -> Route:
        return Route(path, partial(endpoint, server), methods=methods,
                     middleware=_CORS if cors else None, max_body_size=MAX_FORM_BYTES)  # fmt: skip

    return [
        form("/authorize", authorize, ["GET", "POST"]),
        form("/token", token, ["POST", "OPTIONS"], cors=True),
        form("/revoke", revoke, ["POST", "OPTIONS"], cors=True),
        form("/introspect", introspect, ["POST", "OPTIONS"], cors=True),
        Route("/jwks", jwks_endpoint(keys), methods=["GET", "OPTIONS"], middleware=_CORS),
        form("/login", login, ["GET", "POST"]),
        form("/logout", logout, ["POST"]),
        form("/clients", admin_api.clients, ["GET", "POST"]),
        form("/clients/{client_id}", admin_api.client, ["GET", "DELETE"]),
        form("/launch", admin_api.launch, ["POST"]),
    ]


def smart_configuration_routes(settings: Settings) -> list[BaseRoute]:
    endpoint = smart_configuration_endpoint(settings)
    return [
        Route(path, endpoint, methods=["GET", "OPTIONS"], middleware=_CORS)
        for path in ("/fhir/R4/.well-known/smart-configuration", "/.well-known/smart-configuration")
    ]
