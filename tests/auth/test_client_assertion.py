"""SMART Backend Services: client_credentials with a signed assertion (RS384, ES384)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.auth.flows import (
    assertion,
    backend_token,
    ec_key,
    fhir_get,
    new_client,
    public_jwks,
    rsa_key,
)


@pytest.fixture
def token_url(secured) -> str:
    return f"{secured.url}/auth/token"


@pytest.mark.parametrize("make_key", [rsa_key, ec_key], ids=["RS384", "ES384"])
def test_a_backend_client_gets_a_system_token(secured, store, token_url, make_key):
    key = make_key()
    client_id, _ = new_client(store, "backend", scope="system/*.rs", jwks=public_jwks(key))
    answer = backend_token(secured, assertion(key, client_id, token_url))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "system/*.rs"
    assert body["expires_in"] == secured.settings.backend_token_seconds
    assert "refresh_token" not in body and answer.headers["cache-control"] == "no-store"
    claims = jwt.decode(
        body["access_token"], secured.app.state.keys._all, algorithms=["RS256"]
    ).claims
    assert claims["kind"] == "system" and claims["sub"] == client_id
    assert fhir_get(secured, "Patient?_count=1", body["access_token"]).status_code == 200


def test_a_replayed_assertion_is_refused(secured, store, token_url):
    key = rsa_key()
    client_id, _ = new_client(store, "backend", scope="system/*.rs", jwks=public_jwks(key))
    signed = assertion(key, client_id, token_url)
    assert backend_token(secured, signed).status_code == 200
    again = backend_token(secured, signed)
    assert again.status_code == 401 and again.json()["error"] == "invalid_client"
    assert "replayed" in again.json()["error_description"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"lifetime": 600}, "five minutes"),
        ({"lifetime": -60}, "expired"),
        ({"alg": "RS256"}, "RS384 or ES384"),
    ],
)
def test_assertions_outside_the_rules_are_refused(secured, store, token_url, changes, reason):
    key = rsa_key(alg=None)  # a key registered without "alg" may still not sign RS256
    client_id, _ = new_client(store, "backend", scope="system/*.rs", jwks=public_jwks(key))
    answer = backend_token(secured, assertion(key, client_id, token_url, **changes))
    assert answer.status_code == 401, answer.text
    assert reason in answer.json()["error_description"]


def test_an_assertion_for_another_audience_is_refused(secured, store):
    key = ec_key()
    client_id, _ = new_client(store, "backend", scope="system/*.rs", jwks=public_jwks(key))
    answer = backend_token(secured, assertion(key, client_id, "https://elsewhere.example/token"))
    assert answer.status_code == 401 and "aud" in answer.json()["error_description"]


def test_a_key_the_client_did_not_register_is_refused(secured, store, token_url):
    client_id, _ = new_client(store, "backend", scope="system/*.rs", jwks=public_jwks(rsa_key()))
    answer = backend_token(secured, assertion(rsa_key(), client_id, token_url))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


def test_scopes_are_narrowed_to_the_registration(secured, store, token_url):
    key = rsa_key()
    client_id, _ = new_client(
        store, "backend", scope="system/Patient.rs system/ImagingStudy.rs", jwks=public_jwks(key)
    )
    answer = backend_token(
        secured,
        assertion(key, client_id, token_url),
        scope="system/Patient.rs system/*.cruds patient/*.rs",
    )
    assert answer.json()["scope"] == "system/Patient.rs"
    refused = backend_token(secured, assertion(key, client_id, token_url), scope="system/*.cruds")
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_scope"


def test_a_public_client_cannot_use_client_credentials(secured, store):
    import httpx

    client_id, _ = new_client(store)
    answer = httpx.post(
        f"{secured.url}/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id},
    )
    assert answer.status_code == 400 and answer.json()["error"] == "unauthorized_client"


class _JwksServer:
    """A client's own web server publishing its JWK Set, as SMART lets it."""

    def __init__(self) -> None:
        self.document: dict = {"keys": []}
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                owner.fetches += 1
                body = json.dumps(owner.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}/jwks.json"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()


@pytest.fixture
def jwks_server() -> Iterator[_JwksServer]:
    served = _JwksServer()
    yield served
    served.http.shutdown()
    served.http.server_close()


def test_keys_are_fetched_from_the_clients_jwks_url_and_rotation_is_followed(
    secured, store, token_url, jwks_server
):
    first, second = rsa_key(), ec_key()
    jwks_server.document = public_jwks(first)
    client_id, _ = new_client(store, "backend", scope="system/*.rs", jwks_url=jwks_server.url)
    assert backend_token(secured, assertion(first, client_id, token_url)).status_code == 200
    assert backend_token(secured, assertion(first, client_id, token_url)).status_code == 200
    assert jwks_server.fetches == 1  # cached
    jwks_server.document = public_jwks(first, second)  # the client adds a key
    answer = backend_token(secured, assertion(second, client_id, token_url))
    assert answer.status_code == 200, answer.text
    stranger = backend_token(secured, assertion(rsa_key(), client_id, token_url))
    assert stranger.status_code == 401


def test_a_private_key_is_never_accepted_as_a_registration(store):
    from pacsbridge.errors import BadValue

    key = rsa_key()
    with pytest.raises(BadValue, match="private"):
        new_client(store, "backend", jwks={"keys": [key.as_dict(private=True)]})
    assert KeySet.import_key_set(public_jwks(key)).keys
