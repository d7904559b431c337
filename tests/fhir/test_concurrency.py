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


def test_an_hl7_patient_and_a_fhir_conditional_create_of_it_make_one(
    server, fhir_base, unique, monkeypatch
):
    """The ADT feed and an app create the same new patient at once: both lock the
    identifier's value, so the app's conditional create finds the ADT's Patient. The
    HL7 side is slowed between its lookup and its create to open the race wide."""
    import socket
    import threading
    import time

    from pacsbridge.store.transaction import Transaction
    from tests.hl7v2.test_receive import CR, FS, VT, hl7, msa, msh, read_frame

    value = f"R{unique}"
    create = Transaction.create

    def slow_create(self, body, *args, **kwargs):
        if body.get("resourceType") == "Patient" and value in str(body.get("identifier")):
            time.sleep(0.5)  # looked up, found nothing, about to create
        return create(self, body, *args, **kwargs)

    monkeypatch.setattr(Transaction, "create", slow_create)
    answers: list[str] = []

    def by_hl7() -> None:
        frame = hl7(msh(f"X{value}", "ADT^A04"), f"PID|1||{value}^^^HIS||DOE^JANE")
        with socket.create_connection(("127.0.0.1", server.mllp_port), timeout=30) as sock:
            sock.sendall(VT + frame + FS + CR)
            answers.append(msa(read_frame(sock))[1])

    adt = threading.Thread(target=by_hl7)
    adt.start()
    time.sleep(0.2)
    system = "urn:pacsbridge:id:HIS"
    body = {"resourceType": "Patient", "identifier": [{"system": system, "value": value}]}
    app = httpx.post(f"{fhir_base}/Patient", json=body,
                     headers={"If-None-Exist": f"identifier={value}"}, timeout=30)  # fmt: skip
    adt.join(30)
    assert answers == ["AA"]
    assert app.status_code == 200, app.text  # found the ADT's patient, created none
    found = httpx.get(f"{fhir_base}/Patient", params={"identifier": value}).json()
    assert found["total"] == 1, found
