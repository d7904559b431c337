"""The gate: in the required mode nothing protected answers without a valid token."""

from __future__ import annotations

import httpx


def test_required_mode_refuses_requests_without_a_token(secured):
    for path in ("/fhir/R4/Patient", "/dicomweb/studies", "/api/outbox"):
        answer = httpx.get(secured.url + path)
        assert answer.status_code == 401, path
        assert answer.headers["www-authenticate"].startswith("Bearer")
    outcome = httpx.get(secured.url + "/fhir/R4/Patient").json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "login"


def test_discovery_and_health_stay_public(secured):
    assert httpx.get(secured.url + "/fhir/R4/metadata").status_code == 200
    assert httpx.get(secured.url + "/healthz").status_code == 200


def test_the_viewer_sends_a_browser_to_the_login(secured):
    answer = httpx.get(secured.url + "/viewer/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/auth/login?next=")


def test_a_signed_token_passes_and_a_tampered_one_does_not(secured, mint):
    token = mint("user/*.cruds")
    ok = httpx.get(secured.url + "/fhir/R4/Patient", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200, ok.text
    head, payload, signature = token.split(".")
    forged = f"{head}.{payload}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}x"
    answer = httpx.get(secured.url + "/fhir/R4/Patient",
                       headers={"Authorization": f"Bearer {forged}"})  # fmt: skip
    assert answer.status_code == 401
    assert 'error="invalid_token"' in answer.headers["www-authenticate"]


def test_expired_and_wrong_audience_tokens_are_refused(secured, mint):
    for token, reason in (
        (mint("user/*.cruds", lifetime=-120), "expired"),
        (mint("user/*.cruds", audience="https://elsewhere.example/fhir"), "not this server"),
    ):
        answer = httpx.get(secured.url + "/fhir/R4/Patient",
                           headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 401
        assert reason in answer.json()["issue"][0]["diagnostics"]


def test_open_mode_still_refuses_a_bad_token(server):
    answer = httpx.get(server.url + "/fhir/R4/Patient",
                       headers={"Authorization": "Bearer not-a-token"})  # fmt: skip
    assert answer.status_code == 401
    assert httpx.get(server.url + "/fhir/R4/Patient").status_code == 200


def test_a_refused_viewer_on_another_origin_can_read_the_401(secured):
    answer = httpx.get(secured.url + "/dicomweb/studies",
                       headers={"Origin": "https://viewer.example"})  # fmt: skip
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "WWW-Authenticate" in answer.headers["access-control-expose-headers"]
