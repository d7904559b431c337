"""Who gets the console, and which forms it accepts: plain HTTP against running servers."""

from __future__ import annotations

import httpx
from sqlalchemy import func, select

from pacsbridge.auth.middleware import SESSION_COOKIE
from pacsbridge.store.tables import hl7_message, worklist_item
from tests.console.conftest import form_token
from tests.hl7v2.test_receive import hl7, mllp_exchange, msa, msh

EMPTY_ITEM = {"procedure": "", "day": ""}


def test_the_root_is_the_console(server):
    answer = httpx.get(f"{server.url}/")
    assert answer.status_code == 307 and answer.headers["location"] == "/console/"
    page = httpx.get(f"{server.url}/", follow_redirects=True)
    assert page.status_code == 200 and "<h1>Dashboard</h1>" in page.text
    assert "Open mode: anyone on this network can read and change patient data" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_without_a_session_a_browser_is_sent_to_the_login(secured):
    assert httpx.get(f"{secured.url}/").headers["location"] == "/console/"
    answer = httpx.get(f"{secured.url}/console/worklist?day=2025-01-01")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/auth/login?next=%2Fconsole%2Fworklist%3Fday%3D2025-01-01"
    assert httpx.post(f"{secured.url}/console/worklist/new").status_code == 401


def test_staff_see_the_console_without_the_open_mode_banner(secured, mint):
    token = mint("user/*.cruds", role="staff", subject="anna")
    page = httpx.get(f"{secured.url}/console/", cookies={SESSION_COOKIE: token})
    assert page.status_code == 200
    assert "Signed in as <strong>anna (staff)</strong>" in page.text and "Sign out" in page.text
    assert "Open mode" not in page.text


def test_a_patient_is_refused_whatever_the_page(secured, mint):
    token = mint("patient/*.rs", patient="p1", role="patient", subject="pat")
    for path in ("/console/", "/console/messages", "/console/patients?name=a"):
        answer = httpx.get(f"{secured.url}{path}", cookies={SESSION_COOKIE: token})
        assert answer.status_code == 403 and "The console is for staff" in answer.text
    bearer = httpx.get(f"{secured.url}/console/worklist",
                       headers={"Authorization": f"Bearer {token}"})  # fmt: skip
    assert bearer.status_code == 403


def test_reprocessing_is_for_administrators(secured, mint, unique):
    ack = mllp_exchange(secured.mllp_port, hl7(msh(f"ADM-{unique}", "ADT^A08"),
                                               f"PID|1||ADM{unique}^^^HIS||DOE^JOHN"))  # fmt: skip
    assert msa(ack)[1] == "AA"
    with secured.store.reader() as reader:
        pk = reader.connection.execute(select(func.max(hl7_message.c.pk)).where(
            hl7_message.c.control_id == f"ADM-{unique}")).scalar_one()  # fmt: skip
    for role, status in (("staff", 403), ("admin", 303)):
        cookies = {SESSION_COOKIE: mint("user/*.cruds", role=role)}
        with httpx.Client(base_url=secured.url, cookies=cookies) as client:
            page = client.get(f"/console/messages/{pk}")
            assert page.status_code == 200
            assert ("Reprocess this message" in page.text) == (role == "admin")
            token = form_token(client, "/console/worklist/new")
            answer = client.post(f"/console/messages/{pk}/reprocess", data={"csrf_token": token})
            assert answer.status_code == status, answer.text


def test_a_post_without_the_form_token_is_refused(console, server, unique):
    before = _items(server)
    refused = console.post("/console/worklist/new", data={**_item(unique)})
    assert refused.status_code == 403 and "Form refused" in refused.text
    forged = console.post("/console/worklist/new", data={**_item(unique), "csrf_token": "0" * 64})
    assert forged.status_code == 403
    assert _items(server) == before


def test_a_token_from_another_browser_or_site_is_refused(console, server, unique):
    token = form_token(console, "/console/worklist/new")
    with httpx.Client(base_url=server.url) as other:  # another browser: its own cookie
        other.get("/console/")
        assert (
            other.post(
                "/console/worklist/new", data={**_item(unique), "csrf_token": token}
            ).status_code
            == 403
        )
    cross = console.post("/console/worklist/new", data={**_item(unique), "csrf_token": token},
                         headers={"Origin": "https://evil.example"})  # fmt: skip
    assert cross.status_code == 403
    fetched = console.post("/console/worklist/new", data={**_item(unique), "csrf_token": token},
                           headers={"Sec-Fetch-Site": "cross-site"})  # fmt: skip
    assert fetched.status_code == 403
    accepted = console.post("/console/worklist/new", data={**_item(unique), "csrf_token": token},
                            headers={"Origin": server.url})  # fmt: skip
    assert accepted.status_code == 303, accepted.text


def test_a_refused_form_says_what_is_missing(console):
    token = form_token(console, "/console/worklist/new")
    answer = console.post("/console/worklist/new", data={**EMPTY_ITEM, "csrf_token": token})
    assert answer.status_code == 422
    assert 'id="error-summary"' in answer.text and 'aria-invalid="true"' in answer.text
    assert "Describe the procedure" in answer.text


def _item(unique: str) -> dict[str, str]:
    return {"patient_id": f"CSRF{unique}", "family": "Forged", "procedure": "CT head",
            "modality": "CT", "day": "2030-01-01", "start": "08:00", "priority": "routine",
            "procedure_scheme": "L", "accession": f"X{unique[:10]}"}  # fmt: skip


def _items(server) -> int:
    with server.store.reader() as reader:
        return reader.connection.execute(select(func.count()).select_from(worklist_item)).scalar()
