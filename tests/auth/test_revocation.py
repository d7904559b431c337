"""``/auth/revoke`` (RFC 7009): revoked tokens stop working at once."""

from __future__ import annotations

import httpx

from tests.auth.flows import Authorization, fhir_get, new_client, new_user, refresh


def _revoke(server, client_id: str, token: str, hint: str | None = None) -> httpx.Response:
    data = {"token": token, "client_id": client_id}
    if hint:
        data["token_type_hint"] = hint
    return httpx.post(f"{server.url}/auth/revoke", data=data)


def test_a_revoked_access_token_is_refused_by_the_fhir_server(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(new_user(store))
    path = f"Patient/{tokens['patient']}"
    assert fhir_get(secured, path, tokens["access_token"]).status_code == 200
    answer = _revoke(secured, flow.client_id, tokens["access_token"], "access_token")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    refused = fhir_get(secured, path, tokens["access_token"])
    assert refused.status_code == 401 and "revoked" in refused.text


def test_a_revoked_refresh_token_ends_the_grant(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(new_user(store))
    assert _revoke(secured, flow.client_id, tokens["refresh_token"]).status_code == 200
    assert refresh(secured, flow.client_id, tokens["refresh_token"]).json()["error"] == (
        "invalid_grant"
    )
    path = f"Patient/{tokens['patient']}"
    assert fhir_get(secured, path, tokens["access_token"]).status_code == 401


def test_unknown_tokens_and_other_clients_tokens_answer_200_and_change_nothing(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(new_user(store))
    other, _ = new_client(store)
    assert _revoke(secured, other, "no-such-token").status_code == 200
    assert _revoke(secured, other, tokens["access_token"]).status_code == 200
    path = f"Patient/{tokens['patient']}"
    assert fhir_get(secured, path, tokens["access_token"]).status_code == 200


def test_a_caller_that_names_no_client_is_refused(secured):
    answer = httpx.post(f"{secured.url}/auth/revoke", data={"token": "x"})
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
