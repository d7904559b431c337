"""The console with ``auth = required`` in Chromium: the session cookie of a staff login, the
login page for a browser without one, and a patient's session refused."""

from __future__ import annotations

import pytest

from pacsbridge.auth.middleware import SESSION_COOKIE
from tests.auth.flows import PASSWORD, new_user
from tests.console.conftest import shoot, watched


def _cookie(secured, token: str) -> list[dict]:
    return [{"name": SESSION_COOKIE, "value": token, "url": secured.url}]


@pytest.fixture
def staff_page(browser, secured, mint):
    token = mint("user/*.cruds", role="staff", subject="radiographer")
    yield from watched(browser, secured.url, _cookie(secured, token))


def test_a_staff_session_sees_the_console_signed_in(staff_page, secured):
    page = staff_page
    page.goto("/")
    assert page.url.endswith("/console/")
    assert page.locator(".open-mode").count() == 0
    assert "radiographer (staff)" in page.locator(".who").inner_text()
    assert page.get_by_role("button", name="Sign out").count() == 1
    assert page.locator('tr[data-listener="mllp"]').count() == 1
    shoot(page, "dashboard-signed-in", secured)
    page.goto("/console/worklist")
    assert page.get_by_role("heading", level=1).inner_text() == "Worklist"
    page.goto("/console/configuration")
    assert "required" in page.locator("table.settings").inner_text()


def test_a_browser_without_a_session_gets_the_login_page(browser, secured):
    for page in watched(browser, secured.url):
        answer = page.goto("/console/messages")
        assert "/auth/login?next=%2Fconsole%2Fmessages" in page.url
        assert answer is not None


def test_a_patients_session_is_refused(browser, secured, mint):
    token = mint("patient/*.rs", patient="p1", role="patient", subject="pat")
    for page in watched(browser, secured.url, _cookie(secured, token)):
        answer = page.goto("/console/")
        assert answer.status == 403
        assert page.get_by_role("heading", level=1).inner_text() == "Not for this account"
        shoot(page, "patient-refused", secured)


def test_signing_out_ends_the_session(browser, secured, mint):
    token = mint("user/*.cruds", role="admin", subject="engineer")
    for page in watched(browser, secured.url, _cookie(secured, token)):
        page.goto("/console/")
        page.get_by_role("button", name="Sign out").click()
        page.wait_for_url("**/auth/logout")
        page.goto("/console/")
        assert "/auth/login" in page.url


def test_a_staff_user_signs_in_through_the_login_page(browser, secured, store):
    username = new_user(store, "staff")
    for page in watched(browser, secured.url):
        page.goto("/console/worklist")
        assert "/auth/login" in page.url
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/console/worklist")
        assert page.get_by_role("heading", level=1).inner_text() == "Worklist"
        assert username in page.locator(".who").inner_text()
        shoot(page, "worklist-signed-in", secured)
