"""``/auth/token``: code exchange with PKCE, refresh rotation, client authentication."""

from __future__ import annotations

import base64

import httpx

from tests.auth.flows import REDIRECT, Authorization, fhir_get, new_client, new_user, refresh


def test_a_wrong_code_verifier_is_refused(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    code = flow.code(new_user(store))
    answer = flow.exchange(code, verifier="x" * 43)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_grant"
    assert answer.headers["cache-control"] == "no-store"
    assert flow.exchange(code).json()["error"] == "invalid_grant"  # and the code is spent


def test_a_code_used_twice_is_refused_and_what_it_gave_is_revoked(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    code = flow.code(username := new_user(store))
    first = flow.exchange(code).json()
    patient = first["patient"]
    assert fhir_get(secured, f"Patient/{patient}", first["access_token"]).status_code == 200
    again = flow.exchange(code)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert fhir_get(secured, f"Patient/{patient}", first["access_token"]).status_code == 401
    assert refresh(secured, flow.client_id, first["refresh_token"]).status_code == 400
    assert username  # the user may sign in again for a new grant
    assert flow.exchange(flow.code(username)).status_code == 200


def test_a_code_is_bound_to_its_client_and_redirect_uri(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    other, _ = new_client(store)
    code = flow.code(new_user(store))
    assert flow.exchange(code, client_id=other).json()["error"] == "invalid_grant"
    code = flow.code(new_user(store))
    assert flow.exchange(code, redirect_uri=REDIRECT + "/").json()["error"] == "invalid_grant"


def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_family(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(new_user(store))
    second = refresh(secured, flow.client_id, tokens["refresh_token"])
    assert second.status_code == 200, second.text
    rotated = second.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert rotated["patient"] == tokens["patient"]
    assert second.headers["cache-control"] == "no-store"
    replay = refresh(secured, flow.client_id, tokens["refresh_token"])
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    # the thief's reuse also ends the legitimate holder's newer tokens
    assert refresh(secured, flow.client_id, rotated["refresh_token"]).status_code == 400
    path = f"Patient/{tokens['patient']}"
    assert fhir_get(secured, path, rotated["access_token"]).status_code == 401


def test_a_refresh_may_narrow_the_scope_but_not_widen_it(secured, store):
    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(new_user(store))
    narrowed = refresh(secured, flow.client_id, tokens["refresh_token"], scope="patient/*.rs")
    assert narrowed.json()["scope"] == "patient/*.rs"
    wider = refresh(
        secured, flow.client_id, narrowed.json()["refresh_token"], scope="patient/*.rs user/*.rs"
    )
    assert wider.json()["error"] == "invalid_scope"


def test_a_confidential_client_authenticates_with_basic_or_post(secured, store):
    client_id, secret = new_client(store, "confidential")
    assert secret
    user = new_user(store)
    flow = Authorization(secured, client_id)
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    answer = flow.exchange(flow.code(user), client_id="")
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    answer = httpx.post(
        f"{secured.url}/auth/token",
        headers={"Authorization": f"Basic {basic}"},
        data={
            "grant_type": "authorization_code",
            "code": flow.code(user),
            "redirect_uri": REDIRECT,
            "code_verifier": flow.verifier,
        },
    )
    assert answer.status_code == 200, answer.text
    assert flow.exchange(flow.code(user), client_secret=secret).status_code == 200


def test_a_confidential_client_without_its_secret_is_refused(secured, store):
    client_id, secret = new_client(store, "confidential")
    flow = Authorization(secured, client_id)
    user = new_user(store)
    answer = flow.exchange(flow.code(user))
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"
    wrong = base64.b64encode(f"{client_id}:not-{secret}".encode()).decode()
    answer = httpx.post(
        f"{secured.url}/auth/token",
        headers={"Authorization": f"Basic {wrong}"},
        data={
            "grant_type": "authorization_code",
            "code": flow.code(user),
            "redirect_uri": REDIRECT,
            "code_verifier": flow.verifier,
        },
    )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.headers["cache-control"] == "no-store"


def test_unknown_grant_types_and_repeated_parameters_are_refused(secured, store):
    client_id, _ = new_client(store)
    url = f"{secured.url}/auth/token"
    assert (
        httpx.post(url, data={"grant_type": "password", "client_id": client_id}).json()["error"]
        == "unsupported_grant_type"
    )
    repeated = httpx.post(
        url,
        content=f"grant_type=refresh_token&client_id={client_id}"
        f"&client_id={client_id}&refresh_token=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json()["error"] == "invalid_request"


def test_a_disabled_user_cannot_refresh(secured, store):
    from pacsbridge.store.users import change_user

    flow = Authorization(secured, new_client(store)[0])
    tokens = flow.tokens(username := new_user(store))
    change_user(store.database, username, active=False)
    assert refresh(secured, flow.client_id, tokens["refresh_token"]).json()["error"] == (
        "invalid_grant"
    )
