"""Races: conditional creates make one resource; concurrent If-Match updates, one winner."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx


def test_simultaneous_conditional_creates_make_one_resource(fhir_base, unique):
    criteria = f"identifier=urn:race:{unique}|1"
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": f"urn:race:{unique}", "value": "1"}],
    }

    def create(_: int) -> int:
        with httpx.Client(base_url=fhir_base, timeout=60) as client:
            return client.post(
                "/Patient", json=body, headers={"If-None-Exist": criteria}
            ).status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        statuses = list(pool.map(create, range(12)))
    assert sorted(statuses).count(201) == 1, statuses
    assert statuses.count(200) == 11
    found = httpx.get(f"{fhir_base}/Patient", params={"identifier": f"urn:race:{unique}|1"})
    assert found.json()["total"] == 1


def test_concurrent_updates_with_the_same_if_match_have_one_winner(fhir_base, unique):
    with httpx.Client(base_url=fhir_base, timeout=60) as client:
        for round_number in range(3):
            created = client.post("/Patient", json={"resourceType": "Patient"}).json()
            url = f"/Patient/{created['id']}"

            def update(n: int, url: str = url, created: dict = created) -> int:
                with httpx.Client(base_url=fhir_base, timeout=60) as mine:
                    body = {**created, "gender": ["male", "female"][n % 2]}
                    return mine.put(url, json=body, headers={"If-Match": 'W/"1"'}).status_code

            with ThreadPoolExecutor(max_workers=6) as pool:
                statuses = list(pool.map(update, range(6)))
            assert statuses.count(200) == 1, (round_number, statuses)
            assert statuses.count(412) == 5
            assert client.get(url).json()["meta"]["versionId"] == "2"
