"""What the authorization server's tests share: users, clients, PKCE, a browser's way through.

Users and clients get unique names: the store is shared by the whole test session. The
browser is a real HTTP client keeping cookies, posting the forms the pages carry.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from pacsbridge.auth.passwords import hash_secret
from pacsbridge.auth.registration import register_client
from pacsbridge.store import Store
from pacsbridge.store.users import add_user
from tests.conftest import RunningServer

PASSWORD = "correct horse battery"
REDIRECT = "https://app.example.org/callback"


def new_patient(store: Store) -> str:
    with store.transaction() as transaction:
        stored = transaction.create({"resourceType": "Patient", "name": [{"family": "Test"}]})
    return stored.id


def new_user(store: Store, role: str = "patient", *, patient: str | None = None) -> str:
    """A user with PASSWORD; a patient user gets a new Patient unless one is given."""
    if role == "patient" and patient is None:
        patient = new_patient(store)
    username = f"{role}-{uuid.uuid4().hex[:10]}"
    add_user(
        store.database,
        username=username,
        password_hash=hash_secret(PASSWORD),
        role=role,
        patient_id=patient if role == "patient" else None,
    )
    return username


def new_client(
    store: Store,
    kind: str = "public",
    *,
    scope: str = "openid fhirUser launch launch/patient offline_access patient/*.rs user/*.rs",
    redirect_uris: tuple[str, ...] = (REDIRECT,),
    jwks: dict | None = None,
    jwks_url: str | None = None,
) -> tuple[str, str | None]:
    client, secret = register_client(
        store.database,
        client_id=f"{kind}-{uuid.uuid4().hex[:10]}",
        name="Test viewer",
        kind=kind,
        scope=scope,
        redirect_uris=redirect_uris if kind != "backend" else (),
        jwks=jwks,
        jwks_url=jwks_url,
    )
    return client.client_id, secret


def pkce() -> tuple[str, str]:
    """A code verifier and its S256 challenge (RFC 7636 appendix B, computed)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no hidden {name} in the page: {page[:500]}"
    return found[1]


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class Authorization:
    """One authorization request of an app, driven through a browser."""

    server: RunningServer
    client_id: str
    scope: str = "openid fhirUser launch/patient offline_access patient/*.rs"
    redirect_uri: str = REDIRECT
    launch: str | None = None

    def __post_init__(self) -> None:
        self.verifier, self.challenge = pkce()
        self.state = secrets.token_urlsafe(8)
        self.nonce = secrets.token_urlsafe(8)
        self.browser = httpx.Client(base_url=self.server.url, timeout=30)

    def params(self, **changes: str | None) -> dict[str, str]:
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": self.scope,
            "state": self.state,
            "aud": f"{self.server.url}/fhir/R4",
            "code_challenge": self.challenge,
            "code_challenge_method": "S256",
            "nonce": self.nonce,
            "launch": self.launch,
        }
        params.update(changes)
        return {k: v for k, v in params.items() if v is not None}

    def start(self, **changes: str | None) -> httpx.Response:
        return self.browser.get("/auth/authorize", params=self.params(**changes))

    def sign_in(self, username: str, password: str = PASSWORD) -> httpx.Response:
        page = self.start()
        assert page.status_code == 200, page.text
        return self.browser.post(
            "/auth/authorize",
            data={
                "pending": hidden(page.text, "pending"),
                "username": username,
                "password": password,
            },
        )

    def approve(self, username: str, decision: str = "approve") -> httpx.Response:
        consent = self.sign_in(username)
        assert consent.status_code == 200, consent.text
        ticked = re.findall(r'name="scope" value="([^"]*)"', consent.text)
        return self.browser.post(
            "/auth/authorize",
            data={
                "pending": hidden(consent.text, "pending"),
                "decision": decision,
                "scope": ticked,
            },
        )

    def code(self, username: str) -> str:
        answer = self.approve(username)
        assert answer.status_code == 303, answer.text
        back = query_of(answer.headers["location"])
        assert back["state"] == self.state
        return back["code"]

    def exchange(self, code: str, verifier: str | None = None, **extra: str) -> httpx.Response:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier or self.verifier,
        }
        return httpx.post(f"{self.server.url}/auth/token", data={**form, **extra})

    def tokens(self, username: str) -> dict:
        answer = self.exchange(self.code(username))
        assert answer.status_code == 200, answer.text
        return answer.json()


def refresh(server: RunningServer, client_id: str, token: str, **extra: str) -> httpx.Response:
    return httpx.post(
        f"{server.url}/auth/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": token,
            "client_id": client_id,
            **extra,
        },
    )


def fhir_get(server: RunningServer, path: str, token: str) -> httpx.Response:
    return httpx.get(f"{server.url}/fhir/R4/{path}", headers={"Authorization": f"Bearer {token}"})


# --- SMART Backend Services ---


def rsa_key(alg: str | None = "RS384") -> RSAKey:
    parameters = {"kid": uuid.uuid4().hex, **({"alg": alg} if alg else {})}
    return RSAKey.generate_key(2048, parameters=parameters)


def ec_key() -> ECKey:
    return ECKey.generate_key("P-384", parameters={"kid": uuid.uuid4().hex, "alg": "ES384"})


def public_jwks(*keys: RSAKey | ECKey) -> dict:
    return {"keys": [key.as_dict(private=False) for key in keys]}


def assertion(
    key: RSAKey | ECKey,
    client_id: str,
    audience: str,
    *,
    lifetime: int = 240,
    jti: str | None = None,
    alg: str | None = None,
) -> str:
    now = int(time.time())
    algorithm = alg or ("ES384" if isinstance(key, ECKey) else "RS384")
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "exp": now + lifetime,
        "iat": now,
        "jti": jti or uuid.uuid4().hex,
    }
    header = {"alg": algorithm, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, claims, key, algorithms=[algorithm])


def backend_token(server: RunningServer, signed: str, scope: str = "system/*.rs") -> httpx.Response:
    return httpx.post(
        f"{server.url}/auth/token",
        data={
            "grant_type": "client_credentials",
            "scope": scope,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": signed,
        },
    )
