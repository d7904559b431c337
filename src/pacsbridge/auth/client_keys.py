"""The public keys each client registered: inline, or fetched from its ``jwks_url``.

SMART Backend Services lets a client publish its JWK Set at a URL so that it can rotate
keys without asking us. A fetched set is kept for a few minutes; an assertion signed
with a key id we do not know makes us fetch again at once (the client may just have
rotated), but such fetches come at most once every few seconds per URL.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from pacsbridge.auth.oauth_error import OAuthError, invalid_client
from pacsbridge.store.clients import Client

CACHE_SECONDS = 300.0
REFETCH_AFTER_SECONDS = 5.0
FETCH_TIMEOUT_SECONDS = 5.0
MAX_JWKS_BYTES = 256 * 1024
SIGNING_KEY_TYPES = ("RSA", "EC")


class ClientKeys:
    def __init__(self) -> None:
        # url -> (fetched at, keys, whether that fetch was for an unknown key id)
        self._fetched: dict[str, tuple[float, KeySet, bool]] = {}

    async def key_set(self, client: Client, *, refetch: bool = False) -> KeySet:
        """The client's verification keys; ``refetch`` when a key id was not found."""
        if client.jwks:
            return _key_set(orjson.loads(client.jwks))
        assert client.jwks_url, "a client with keys has jwks or jwks_url"
        url = client.jwks_url
        cached = self._fetched.get(url)
        if cached is not None:
            age = time.monotonic() - cached[0]
            throttled = cached[2] and age < REFETCH_AFTER_SECONDS
            if age < CACHE_SECONDS and (not refetch or throttled):
                return cached[1]
        try:
            keys = _key_set(await _fetch(url))
        except OAuthError:  # unreachable or broken for now: keep what we had, if anything
            if cached is not None:
                return cached[1]
            raise
        self._fetched[url] = (time.monotonic(), keys, refetch)
        return keys


async def _fetch(url: str) -> dict[str, Any]:
    try:
        async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as http:
            answer = await http.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise invalid_client(f"the client's jwks_url could not be read: {exc}") from exc
    if answer.status_code != 200 or len(answer.content) > MAX_JWKS_BYTES:
        raise invalid_client(f"the client's jwks_url answered {answer.status_code}")
    try:
        return orjson.loads(answer.content)
    except orjson.JSONDecodeError as exc:
        raise invalid_client("the client's jwks_url did not answer a JWK Set") from exc


def _key_set(document: Any) -> KeySet:
    """The public signing keys of a JWK Set (keys for encryption, or unknown types, skipped)."""
    keys = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(keys, list):
        raise invalid_client("the client's keys are not a JWK Set")
    usable = [
        {k: v for k, v in key.items() if k != "d"}
        for key in keys
        if isinstance(key, dict)
        and key.get("kty") in SIGNING_KEY_TYPES
        and key.get("use", "sig") == "sig"
    ]
    try:
        return KeySet.import_key_set({"keys": usable})
    except (JoseError, ValueError, TypeError) as exc:
        raise invalid_client(f"the client's JWK Set cannot be read: {exc}") from exc
