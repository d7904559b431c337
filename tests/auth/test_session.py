"""``/auth/login`` and ``/auth/logout``: the console's session cookie, and slowed guessing."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.auth.flows import PASSWORD, hidden, new_user


def _sign_in(
    browser: httpx.Client, username: str, password: str = PASSWORD, target: str = "/viewer/"
) -> httpx.Response:
    page = browser.get("/auth/login", params={"next": target})
    assert page.status_code == 200
    return browser.post(
        "/auth/login",
        data={
            "username": username,
            "password": password,
            "next": hidden(page.text, "next"),
            "form_token": hidden(page.text, "form_token"),
        },
    )


def test_signing_in_sets_a_safe_session_cookie_and_goes_back(secured, store):
    with httpx.Client(base_url=secured.url) as browser:
        answer = _sign_in(browser, new_user(store, "staff"))
        assert answer.status_code == 303 and answer.headers["location"] == "/viewer/"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith("pacsbridge_session=")
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        assert "Secure" not in cookie  # plain HTTP here; set over HTTPS
        assert browser.get("/fhir/R4/Patient?_count=1").status_code == 200


def test_a_patients_session_carries_the_patient_context(secured, store):
    with httpx.Client(base_url=secured.url) as browser:
        _sign_in(browser, new_user(store, "patient"))
        token = browser.cookies["pacsbridge_session"]
        claims = secured.app.state.keys.decode(token)
    assert claims["scope"] == "patient/*.rs" and claims["patient"]
    assert claims["client_id"] == "pacsbridge-console" and claims["role"] == "patient"


def test_signing_out_revokes_the_session(secured, store):
    with httpx.Client(base_url=secured.url) as browser:
        _sign_in(browser, new_user(store, "admin"))
        token = browser.cookies["pacsbridge_session"]
        out = browser.post("/auth/logout")
        assert out.status_code == 200 and "signed out" in out.text
    stolen = httpx.get(f"{secured.url}/fhir/R4/Patient", cookies={"pacsbridge_session": token})
    assert stolen.status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil", ""])
def test_next_never_leaves_this_server(secured, store, target):
    with httpx.Client(base_url=secured.url) as browser:
        answer = _sign_in(browser, new_user(store, "staff"), target=target)
    assert answer.headers["location"] == "/"


def test_a_login_form_posted_from_elsewhere_is_refused(secured, store):
    answer = httpx.post(
        f"{secured.url}/auth/login",
        data={"username": new_user(store, "staff"), "password": PASSWORD, "form_token": "x" * 64},
    )
    assert answer.status_code == 400 and "pacsbridge_session" not in answer.headers.get(
        "set-cookie", ""
    )


def test_repeated_wrong_passwords_lock_the_username_even_for_the_right_one(secured, store):
    username = new_user(store, "staff")
    limit = secured.settings.login_max_failures
    with httpx.Client(base_url=secured.url) as browser:
        statuses = [_sign_in(browser, username, "wrong password").status_code for _ in range(limit)]
        assert statuses == [401] * (limit - 1) + [429]
        locked = _sign_in(browser, username)
    assert locked.status_code == 429
    seconds = int(locked.headers["retry-after"])
    assert 0 < seconds <= 30
    assert re.search(rf"Wait {seconds} seconds", locked.text)
    assert "pacsbridge_session" not in locked.headers.get("set-cookie", "")


def test_an_unknown_username_is_answered_like_a_known_one(secured, store):
    limit = secured.settings.login_max_failures
    nobody = "nobody-" + new_user(store, "staff")
    with httpx.Client(base_url=secured.url) as browser:
        answers = [_sign_in(browser, nobody, "wrong password") for _ in range(limit)]
    assert [a.status_code for a in answers] == [401] * (limit - 1) + [429]
    assert "Wrong username or password" in answers[0].text


def test_the_open_mode_says_so_on_every_page(server, secured):
    assert "OPEN MODE" in httpx.get(f"{server.url}/auth/login").text
    assert "OPEN MODE" not in httpx.get(f"{secured.url}/auth/login").text


def test_the_login_page_is_accessible_and_cannot_be_framed(secured):
    page = httpx.get(f"{secured.url}/auth/login")
    assert '<label for="username">' in page.text and '<label for="password">' in page.text
    assert "autofocus" in page.text and '<html lang="en">' in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
