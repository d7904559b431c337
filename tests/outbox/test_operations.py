"""Operating the outbox: the HTTP API, the CLI and the metrics, against the running server."""

from __future__ import annotations

import time

import httpx

from tests.outbox.his import ack_for, always_aa, field_of
from tests.outbox.test_delivery import entries, new_patient, post_report, wait_until
from tests.test_cli_hl7 import run


def test_api_lists_shows_and_retries_a_dead_letter(outbound, answering, unique):
    patient_id, mrn = new_patient(outbound.url, unique)
    answering.behaviour = lambda m: [ack_for(m, "AR", "no such order")]
    post_report(outbound.url, patient_id, "informe")
    [dead] = wait_until(lambda: [e for e in entries(outbound, patient_id) if e.status == "dead"])
    api = f"{outbound.url}/api"
    wanted = {"patient": f"Patient/{patient_id}", "destination": dead.destination}
    listed = httpx.get(f"{api}/outbox", params=wanted).json()
    assert [(m["id"], m["status"], m["ackCode"]) for m in listed] == [(dead.pk, "dead", "AR")]
    shown = httpx.get(f"{api}/outbox/{dead.pk}").json()
    assert shown["message"].startswith("MSH|^~\\&|PACSBRIDGE|") and "MSA|AR|" in shown["ack"]
    assert [a["outcome"] for a in shown["attemptLog"]] == ["AR"]
    assert "Núñez" in shown["message"]  # decoded in the destination's character set
    answering.behaviour = always_aa
    retried = httpx.post(f"{api}/outbox/{dead.pk}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "pending"
    assert wait_until(lambda: entries(outbound, patient_id)[0].status == "sent")
    refused = httpx.post(f"{api}/outbox/{dead.pk}/cancel")  # sent: too late
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert httpx.get(f"{api}/outbox/999999999").status_code == 404
    assert httpx.get(f"{api}/outbox", params={"status": "lost"}).status_code == 400


def test_pause_holds_messages_in_order_and_resume_sends_them(outbound, answering, unique):
    name = outbound.settings.destinations[0].name
    api = f"{outbound.url}/api"
    patient_id, mrn = new_patient(outbound.url, unique)
    paused = httpx.post(f"{api}/destinations/{name}/pause").json()
    assert paused[0]["paused"] is True
    try:
        for n in range(2):
            post_report(outbound.url, patient_id, f"informe {n}")
        time.sleep(0.8)
        assert answering.of_patient(mrn) == []
        state = httpx.get(f"{api}/destinations").json()[0]
        assert state["waiting"] >= 2 and state["oldestWaitingSeconds"] > 0
        metrics = httpx.get(f"{outbound.url}/metrics").text
        assert f'pacsbridge_outbox_waiting{{destination="{name}"}}' in metrics
    finally:
        httpx.post(f"{api}/destinations/{name}/resume")
    received = answering.wait_for(2, mrn)
    assert [r.raw.count(b"informe 0") for r in received] == [1, 0]
    assert httpx.post(f"{api}/destinations/nobody/pause").status_code == 404


def test_cli_lists_shows_and_tells_the_queue(outbound, answering, unique):
    patient_id, mrn = new_patient(outbound.url, unique)
    post_report(outbound.url, patient_id, "informe por consola")
    [sent] = wait_until(lambda: [e for e in entries(outbound, patient_id) if e.status == "sent"])
    database = ["--database-url", outbound.settings.effective_database_url()]
    listed = run("outbox", *database, "list", "--patient", f"Patient/{patient_id}")
    assert listed.returncode == 0, listed.stderr
    assert (
        f"{sent.pk}\t" in listed.stdout
        and "ORU^R01" in listed.stdout
        and "\tsent\t" in listed.stdout
    )
    shown = run("outbox", *database, "show", str(sent.pk))
    assert "informe por consola" in shown.stdout and "attempt 1" in shown.stdout
    assert "MSA|AA|" in shown.stdout
    status = run("outbox", *database, "status")
    assert sent.destination in status.stdout
    missing = run("outbox", *database, "retry", str(sent.pk))
    assert missing.returncode == 1 and "not dead or cancelled" in missing.stderr
    assert field_of(answering.of_patient(mrn)[0].raw, "OBR", 25) == "F"
