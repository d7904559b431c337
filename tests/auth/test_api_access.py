"""The operations API under --auth required: administrators only, everyone else 403."""

from __future__ import annotations

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
