"""The message browser in Chromium: a message sent over MLLP is found, read and reprocessed."""

from __future__ import annotations

import time

import httpx

from tests.console.conftest import shoot
from tests.dicom.test_worklist import order


def audited(server, patient_id: str, wanted: set[str], seconds: float = 15) -> set[str]:
    """The interactions of the console's AuditEvents about ``patient_id``, once ``wanted``
    are among them (the trail writes in the background)."""
    deadline = time.monotonic() + seconds
    while True:
        bundle = httpx.get(
            f"{server.url}/fhir/R4/AuditEvent",
            params={"patient": f"Patient/{patient_id}", "_count": "100"},
        ).json()
        found = {
            e["resource"]["subtype"][0]["code"]
            for e in bundle.get("entry", [])
            if any(t.get("code") == "console" for t in e["resource"]["source"]["type"])
        }
        if wanted <= found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_a_message_sent_over_mllp_is_found_read_as_a_tree_and_reprocessed(page, server, unique):
    order(server.mllp_port, unique, 1)
    control = f"WL1-NW-{unique}"
    page.goto("/console/messages")
    page.get_by_label("Control ID (MSH-10)").fill(control)
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(f"**/console/messages?**control_id={control}**")
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1 and "AA" in rows.inner_text() and f"WL{unique}" in rows.inner_text()
    shoot(page, "messages", server)

    page.get_by_role("link", name="ORM^O01").click()
    page.wait_for_url("**/console/messages/*")
    heading = page.get_by_role("heading", level=1).inner_text()
    pid = page.locator("details.segment", has_text="Patient identification")
    assert "Patient name" in pid.inner_text() and "Family name" in pid.inner_text()
    assert "GARCÍA" in pid.inner_text()  # decoded as MSH-18 (UTF-8) says
    obr = page.locator("details.segment", has_text="Observation request").inner_text()
    assert "OBR-4" in obr and "Universal service identifier" in obr
    ack = page.locator("details.segment", has_text="Message acknowledgment").inner_text()
    assert "MSA-1" in ack and "AA" in ack and control in ack
    order_link = page.locator("ul.resources a", has_text="ServiceRequest/").first
    assert order_link.get_attribute("href").startswith("/fhir/R4/ServiceRequest/")
    assert httpx.get(server.url + order_link.get_attribute("href")).status_code == 200
    patient_id = (
        page.locator("ul.resources a", has_text="Patient/").first.inner_text().split("/")[1]
    )
    page.get_by_text("Raw message").click()
    assert page.locator("pre.hl7").first.inner_text().startswith("MSH|^~\\&|RIS|RAD|")
    shoot(page, "message", server)

    page.get_by_role("button", name="Reprocess this message").click()
    page.wait_for_url("**?done=reprocessed")
    assert page.get_by_role("status").inner_text().startswith("The message was processed again")
    assert page.get_by_role("heading", level=1).inner_text() != heading
    assert "reprocess of" in page.locator("dl.facts").inner_text()
    page.goto(f"/console/messages?control_id={control}")
    assert page.locator("table.list tbody tr").count() == 2

    wanted = {"search", "read", "reprocess"}
    assert audited(server, patient_id, wanted) >= wanted


def test_a_refused_message_shows_why_and_unknown_ones_are_404(page, server, unique, console):
    from tests.hl7v2.test_receive import hl7, mllp_exchange, msh

    mllp_exchange(server.mllp_port, hl7(msh(f"AR-{unique}", "ZZZ^Z99"), "PID|1||X"))
    page.goto(f"/console/messages?control_id=AR-{unique}&outcome=AR")
    page.get_by_role("link", name="ZZZ^Z99").click()
    assert "AR" in page.locator("dl.facts").inner_text()
    assert console.get("/console/messages/999999999").status_code == 404


def test_the_search_filters_by_sender_type_outcome_and_time(console, server, unique):
    from tests.hl7v2.test_receive import hl7, mllp_exchange, msh

    mllp_exchange(server.mllp_port, hl7(msh(f"F1-{unique}", "ADT^A08", sender=f"S{unique}|F"),
                                        f"PID|1||F{unique}^^^HIS||DOE^JO"))  # fmt: skip
    mllp_exchange(server.mllp_port, hl7(msh(f"F2-{unique}", "ZZZ^Z99", sender=f"S{unique}|F"),
                                        "PID|1||X"))  # fmt: skip

    def found(**params: str) -> list[str]:
        page = console.get("/console/messages", params={"sender": f"S{unique}", **params}).text
        return [c for c in (f"F1-{unique}", f"F2-{unique}") if c in page]

    assert found() == [f"F1-{unique}", f"F2-{unique}"]
    assert found(type="ADT") == [f"F1-{unique}"]
    assert found(outcome="AR") == [f"F2-{unique}"]
    assert found(patient=f"F{unique}") == [f"F1-{unique}"]
    assert found(since="2999-01-01T00:00") == []
    assert found(until="2000-01-01T00:00") == []
