"""The operations API under --auth required: administrators only, everyone else 403."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from tests.dicomweb.stored import assert_problem


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/outbox"), ("GET", "/api/outbox/1"), ("POST", "/api/outbox/1/retry"),
     ("POST", "/api/outbox/1/cancel"), ("GET", "/api/destinations"),
     ("POST", "/api/destinations/HIS/pause"), ("POST", "/api/destinations/HIS/resume")],
)  # fmt: skip
def test_staff_and_patients_are_refused_every_operation(secured, mint, method, path):
    for token in (mint("user/*.cruds", role="staff"),
                  mint("patient/*.cruds", patient="someone", role="patient"),
                  mint("system/*.rs", kind="system")):  # fmt: skip
        answer = httpx.request(method, secured.url + path, headers=bearer(token))
        assert_problem(answer, 403, "administrators")


def test_an_administrator_may_list_the_outbox_and_destinations(secured, mint):
    for token in (mint("user/*.cruds", role="admin"),
                  mint("system/*.cruds", kind="system", subject="ops-robot")):  # fmt: skip
        listed = httpx.get(secured.url + "/api/outbox", headers=bearer(token))
        assert listed.status_code == 200, listed.text
        assert isinstance(listed.json(), list)
        assert (
            httpx.get(secured.url + "/api/destinations", headers=bearer(token)).status_code == 200
        )


def test_the_open_mode_keeps_the_api_open_to_the_trusted_network(server):
    assert httpx.get(server.url + "/api/outbox").status_code == 200


def test_reading_outbound_messages_is_audited(secured, mint):
    token = mint("user/*.cruds", role="admin", subject=f"ops-{uuid.uuid4().hex[:8]}")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{secured.url}/api/outbox", headers=headers).status_code == 200
    fhir = f"{secured.url}/fhir/R4/AuditEvent"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = httpx.get(fhir, params={"subtype": "outbox-list-messages"}, headers=headers)
        names = [a.get("name") for e in found.json().get("entry", [])
                 for a in e["resource"]["agent"]]  # fmt: skip
        if any(name and name.startswith("ops-") for name in names):
            return
        time.sleep(0.2)
    raise AssertionError("the outbox read was not audited")
