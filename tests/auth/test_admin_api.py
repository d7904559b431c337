"""``/auth/clients``: client registration over HTTP, for administrators only."""

from __future__ import annotations

import uuid

import httpx

from tests.auth.flows import REDIRECT, Authorization, new_user


def test_an_administrator_registers_lists_and_removes_a_client(secured, store, mint):
    admin = {"Authorization": f"Bearer {mint('user/*.cruds', role='admin')}"}
    client_id = f"app-{uuid.uuid4().hex[:8]}"
    made = httpx.post(
        f"{secured.url}/auth/clients",
        headers=admin,
        json={
            "client_id": client_id,
            "name": "Report app",
            "kind": "confidential",
            "redirect_uris": [REDIRECT],
            "scope": "patient/*.rs openid",
        },
    )
    assert made.status_code == 201, made.text
    secret = made.json()["client_secret"]
    assert "secret_hash" not in made.json()
    listed = httpx.get(f"{secured.url}/auth/clients", headers=admin).json()
    assert client_id in {c["client_id"] for c in listed}
    assert all("client_secret" not in c and "secret_hash" not in c for c in listed)
    flow = Authorization(secured, client_id, scope="patient/*.rs")
    code = flow.code(new_user(store))
    assert flow.exchange(code, client_secret=secret).status_code == 200
    gone = httpx.delete(f"{secured.url}/auth/clients/{client_id}", headers=admin)
    assert gone.status_code == 204
    assert httpx.get(f"{secured.url}/auth/clients/{client_id}", headers=admin).status_code == 404


def test_bad_registrations_are_refused_with_the_reason(secured, mint):
    admin = {"Authorization": f"Bearer {mint('user/*.cruds', role='admin')}"}
    for body, reason in (
        ({"kind": "public", "scope": "patient/*.rs"}, "redirect URI"),
        ({"kind": "backend", "scope": "system/*.rs"}, "public keys"),
        ({"kind": "public", "scope": "x", "redirect_uris": ["https://a/#frag"]}, "fragment"),
        ({"kind": "nobody", "scope": "x"}, "kind"),
    ):
        answer = httpx.post(f"{secured.url}/auth/clients", headers=admin, json=body)
        assert answer.status_code == 400, body
        assert reason in answer.json()["detail"]


def test_only_administrators_register_clients(secured, mint):
    staff = {"Authorization": f"Bearer {mint('user/*.cruds', role='staff')}"}
    assert httpx.get(f"{secured.url}/auth/clients", headers=staff).status_code == 403
    assert httpx.get(f"{secured.url}/auth/clients").status_code == 401
