"""``/auth/introspect`` (RFC 7662): what a token allows, for confidential callers only."""

from __future__ import annotations

import time

import httpx

from tests.auth.flows import Authorization, new_client, new_user


def _introspect(server, token: str, **auth) -> httpx.Response:
    return httpx.post(f"{server.url}/auth/introspect", data={"token": token}, **auth)


def test_an_active_token_is_described(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(username := new_user(store))
    caller, secret = new_client(store, "confidential")
    answer = _introspect(secured, tokens["access_token"], auth=(caller, secret))
    assert answer.status_code == 200, answer.text
    found = answer.json()
    assert found["active"] is True
    assert found["scope"] == tokens["scope"] and found["client_id"] == flow.client_id
    assert found["patient"] == tokens["patient"] and found["sub"] == username
    assert found["fhirUser"] == f"Patient/{tokens['patient']}"
    assert found["iss"] == f"{secured.url}/auth"
    assert time.time() < found["exp"] <= time.time() + secured.settings.access_token_seconds + 5
    assert found["iat"] <= time.time() + 1
    refresh = _introspect(secured, tokens["refresh_token"], auth=(caller, secret)).json()
    assert refresh["active"] is True and refresh["client_id"] == flow.client_id


def test_revoked_and_unknown_tokens_are_only_inactive(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(new_user(store))
    httpx.post(
        f"{secured.url}/auth/revoke",
        data={"token": tokens["access_token"], "client_id": flow.client_id},
    )
    caller, secret = new_client(store, "confidential")
    for token in (tokens["access_token"], "no-such-token", "a.b.c"):
        assert _introspect(secured, token, auth=(caller, secret)).json() == {"active": False}


def test_an_administrators_bearer_token_may_introspect(secured, store, mint):
    token = mint("patient/*.rs", patient="p1")
    admin = {"Authorization": f"Bearer {mint('user/*.cruds', role='admin')}"}
    found = _introspect(secured, token, headers=admin).json()
    assert found["active"] is True and found["patient"] == "p1"


def test_public_clients_and_strangers_may_not_introspect(secured, store, mint):
    token = mint("patient/*.rs", patient="p1")
    public, _ = new_client(store)
    for kwargs in ({}, {"headers": {"Authorization": f"Bearer {token}"}}):
        answer = _introspect(secured, token, **kwargs)
        assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    answer = httpx.post(
        f"{secured.url}/auth/introspect", data={"token": token, "client_id": public}
    )
    assert answer.status_code == 401
