"""Skeleton: replaced by the authorization server's routes."""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute


def authorization_routes(store: Any, settings: Any, keys: Any) -> list[BaseRoute]:
    return []


def smart_configuration_routes(settings: Any) -> list[BaseRoute]:
    return []
