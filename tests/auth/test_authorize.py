"""``/auth/authorize``: sign-in, consent and the code, through a real browser session."""

from __future__ import annotations

import httpx
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.auth.flows import (
    PASSWORD,
    REDIRECT,
    Authorization,
    fhir_get,
    hidden,
    new_client,
    new_patient,
    new_user,
    query_of,
)


def test_a_patient_app_gets_a_token_that_reads_the_patients_own_record(secured, store):
    client_id, _ = new_client(store)
    username = new_user(store)
    flow = Authorization(secured, client_id)
    tokens = flow.tokens(username)
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] > 0
    patient = tokens["patient"]
    assert set(tokens["scope"].split()) == {
        "openid",
        "fhirUser",
        "launch/patient",
        "offline_access",
        "patient/*.rs",
    }
    assert tokens["refresh_token"]
    keys = KeySet.import_key_set(httpx.get(secured.url + "/auth/jwks").json())
    identity = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"]).claims
    assert identity["aud"] == client_id and identity["sub"] == username
    assert identity["iss"] == f"{secured.url}/auth" and identity["nonce"] == flow.nonce
    assert identity["fhirUser"] == f"Patient/{patient}"
    access = jwt.decode(tokens["access_token"], keys, algorithms=["RS256"]).claims
    assert access["patient"] == patient and access["aud"] == f"{secured.url}/fhir/R4"
    answer = fhir_get(secured, f"Patient/{patient}", tokens["access_token"])
    assert answer.status_code == 200, answer.text
    assert answer.json()["id"] == patient


def test_a_redirect_uri_one_character_off_is_refused_without_a_redirect(secured, store):
    client_id, _ = new_client(store)
    flow = Authorization(secured, client_id)
    for wrong in (REDIRECT + "x", REDIRECT[:-1], REDIRECT.replace("https", "http"), None):
        answer = flow.start(redirect_uri=wrong)
        assert answer.status_code == 400, wrong
        assert "location" not in answer.headers
        assert "is not registered" in answer.text


def test_an_unknown_client_is_shown_an_error_page(secured):
    answer = Authorization(secured, "nobody-registered-this").start()
    assert answer.status_code == 400 and "location" not in answer.headers


def test_pkce_is_required_and_plain_is_refused(secured, store):
    client_id, _ = new_client(store)
    flow = Authorization(secured, client_id)
    for changes in (
        {"code_challenge": None},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": None},
    ):
        answer = flow.start(**changes)
        assert answer.status_code == 303, changes
        back = query_of(answer.headers["location"])
        assert answer.headers["location"].startswith(REDIRECT + "?")
        assert back["error"] == "invalid_request" and back["state"] == flow.state


def test_a_request_for_another_servers_audience_is_refused(secured, store):
    client_id, _ = new_client(store)
    answer = Authorization(secured, client_id).start(aud="https://elsewhere.example/fhir")
    assert answer.status_code == 303
    assert query_of(answer.headers["location"])["error"] == "invalid_request"


def test_a_wrong_password_shows_the_form_again(secured, store):
    client_id, _ = new_client(store)
    answer = Authorization(secured, client_id).sign_in(new_user(store), "not the password")
    assert answer.status_code == 401
    assert "Wrong username or password" in answer.text and 'name="pending"' in answer.text


def test_denying_sends_access_denied_with_the_state(secured, store):
    client_id, _ = new_client(store)
    flow = Authorization(secured, client_id)
    answer = flow.approve(new_user(store), decision="deny")
    assert answer.status_code == 303
    back = query_of(answer.headers["location"])
    assert back == {
        "error": "access_denied",
        "error_description": back["error_description"],
        "state": flow.state,
    }


def test_a_patient_is_offered_patient_scopes_only(secured, store):
    client_id, _ = new_client(store)
    flow = Authorization(secured, client_id, scope="openid user/*.rs patient/Patient.rs")
    consent = flow.sign_in(new_user(store))
    assert 'value="patient/Patient.rs"' in consent.text
    assert 'value="user/*.rs"' not in consent.text


def test_scopes_the_registration_does_not_allow_are_never_offered(secured, store):
    client_id, _ = new_client(store, scope="patient/Patient.rs")
    flow = Authorization(secured, client_id, scope="patient/*.cruds patient/Patient.rs")
    tokens = flow.tokens(new_user(store))
    assert tokens["scope"] == "patient/Patient.rs"
    assert "refresh_token" not in tokens and "id_token" not in tokens


def test_unticked_scopes_are_not_granted(secured, store):
    client_id, _ = new_client(store)
    flow = Authorization(secured, client_id)
    consent = flow.sign_in(new_user(store))
    answer = flow.browser.post(
        "/auth/authorize",
        data={
            "pending": hidden(consent.text, "pending"),
            "decision": "approve",
            "scope": ["patient/*.rs", "user/*.cruds"],
        },
    )
    tokens = flow.exchange(query_of(answer.headers["location"])["code"]).json()
    assert tokens["scope"] == "patient/*.rs"


def test_a_form_replayed_from_another_browser_is_refused(secured, store):
    client_id, _ = new_client(store)
    flow = Authorization(secured, client_id)
    page = flow.start()
    elsewhere = httpx.post(
        f"{secured.url}/auth/authorize",
        data={
            "pending": hidden(page.text, "pending"),
            "username": new_user(store),
            "password": PASSWORD,
        },
    )
    assert elsewhere.status_code == 400 and "another browser" in elsewhere.text


def test_the_request_may_be_posted_as_a_form(secured, store):
    client_id, _ = new_client(store)
    flow = Authorization(secured, client_id)
    answer = flow.browser.post("/auth/authorize", data=flow.params())
    assert answer.status_code == 200 and 'name="password"' in answer.text


def test_an_ehr_launch_gives_staff_the_launch_patients_context(secured, store, mint):
    patient = new_patient(store)
    staff_token = mint("user/*.cruds", role="staff")
    made = httpx.post(
        f"{secured.url}/auth/launch",
        json={"patient": patient},
        headers={"Authorization": f"Bearer {staff_token}"},
    )
    assert made.status_code == 201, made.text
    client_id, _ = new_client(store)
    flow = Authorization(
        secured, client_id, scope="launch patient/*.rs user/*.rs", launch=made.json()["launch"]
    )
    tokens = flow.tokens(new_user(store, "staff"))
    assert tokens["patient"] == patient
    assert set(tokens["scope"].split()) == {"launch", "patient/*.rs", "user/*.rs"}


def test_only_staff_create_launches_and_only_for_known_patients(secured, store, mint):
    as_patient = mint("patient/*.rs", patient="p", role="patient")
    refused = httpx.post(
        f"{secured.url}/auth/launch",
        json={"patient": "x"},
        headers={"Authorization": f"Bearer {as_patient}"},
    )
    assert refused.status_code == 403
    assert httpx.post(f"{secured.url}/auth/launch", json={"patient": "x"}).status_code == 401
    unknown = httpx.post(
        f"{secured.url}/auth/launch",
        json={"patient": "no-such-patient"},
        headers={"Authorization": f"Bearer {mint('user/*.cruds', role='staff')}"},
    )
    assert unknown.status_code == 404


def test_an_unknown_launch_is_refused(secured, store):
    client_id, _ = new_client(store)
    answer = Authorization(secured, client_id, launch="made-up").start()
    assert query_of(answer.headers["location"])["error"] == "invalid_request"
