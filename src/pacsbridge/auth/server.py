"""What every endpoint of the authorization server shares: store, settings, keys, pages.

One instance per HTTP application, made by ``routes.authorization_routes``; no globals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from pacsbridge.auth.client_keys import ClientKeys
from pacsbridge.auth.keys import KeyRing
from pacsbridge.auth.pages import Pages
from pacsbridge.auth.urls import ServerUrls, server_urls
from pacsbridge.config import Settings
from pacsbridge.store import Store
from pacsbridge.store.database import Database


@dataclass
class AuthorizationServer:
    store: Store
    settings: Settings
    keys: KeyRing
    pages: Pages
    client_keys: ClientKeys = field(default_factory=ClientKeys)

    @property
    def database(self) -> Database:
        return self.store.database

    def urls(self, request: Request) -> ServerUrls:
        return server_urls(request.scope, self.settings.base_url)
