"""Writing and signing a report in Chromium: a final DiagnosticReport on the study and its order,
queued as ORU^R01 in the outbox, delivered to the HIS simulator, shown sent in the console."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.console.conftest import shoot, watched
from tests.dicom.test_worklist import order
from tests.dicomweb.stored import stow_testdata


@pytest.fixture
def reporting_page(browser, reporting):
    yield from watched(browser, reporting.url)


def test_a_signed_report_becomes_an_oru_for_the_his(reporting_page, reporting, his, unique):
    page = reporting_page
    order(reporting.mllp_port, unique, 1)  # the HIS's order, then its images
    stored = stow_testdata(
        reporting,
        "CT_small.dcm",
        f"WL{unique}",
        AccessionNumber=f"A1-{unique}",
        StudyDescription="CT abdomen",
    )
    page.goto(f"/console/studies/{stored.study}")
    assert "TC ABDOMEN" in page.locator("dl.facts").inner_text()  # the order is linked
    page.get_by_label("Report text").fill("Liver and spleen normal.\nNo free fluid.")
    page.get_by_label("Conclusion").fill(f"No acute findings {unique}.")
    page.get_by_role("button", name="Sign the report").click()
    page.wait_for_url("**done=signed**")
    report = page.locator("article.report")
    assert report.count() == 1 and "final" in report.inner_text()
    assert "No free fluid." in report.inner_text() and "pacsbridge console" in report.inner_text()
    shoot(page, "study-reported", reporting)

    found = httpx.get(f"{reporting.url}/fhir/R4/DiagnosticReport",
                      params={"patient": _patient_of(reporting, stored.study)}).json()  # fmt: skip
    body = found["entry"][0]["resource"]
    assert body["status"] == "final" and body["conclusion"] == f"No acute findings {unique}."
    assert body["basedOn"][0]["reference"].startswith("ServiceRequest/")
    assert body["imagingStudy"][0]["reference"].startswith("ImagingStudy/")

    received = his.wait_for(1, f"WL{unique}")
    assert received and received[0].field("MSH", 9).startswith("ORU^R01")
    assert f"No acute findings {unique}." in received[0].raw.decode("latin-1")  # 8859/1

    page.goto("/console/outbox")
    page.get_by_label("Status").select_option("sent")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("table.list tbody tr", has_text="ORU^R01").first
    row.get_by_role("link", name="ORU^R01").click()
    deadline = time.monotonic() + 20
    while "sent" not in page.locator("dl.facts").inner_text() and time.monotonic() < deadline:
        page.reload()
    facts = page.locator("dl.facts").inner_text()
    assert "sent" in facts and "AA" in facts and "report" in facts
    obx = page.locator("details.segment", has_text="Observation/result").last.inner_text()
    assert "OBX-5" in obx and "Observation value" in obx
    assert page.locator("table.list", has_text="Started").count() == 1  # the attempts
    shoot(page, "outbox-entry", reporting)
    page.goto("/console/outbox")
    shoot(page, "outbox", reporting)
    page.goto("/console/")
    assert "idle" in page.inner_text("#live") or "up" in page.inner_text("#live")
    shoot(page, "dashboard-with-destination", reporting)


def test_an_empty_report_is_refused_and_nothing_is_queued(reporting_page, reporting, unique):
    page = reporting_page
    stored = stow_testdata(reporting, "CT_small.dcm", f"ER{unique}")
    page.goto(f"/console/studies/{stored.study}")
    page.get_by_role("button", name="Sign the report").click()
    assert (
        "Write the report, its conclusion, or both." in page.locator("#error-summary").inner_text()
    )
    assert page.evaluate("document.activeElement.id") == "error-summary"
    assert page.locator("article.report").count() == 0


def test_a_dead_message_can_be_retried_and_cancelled_from_its_page(reporting, his, unique):
    from tests.console.conftest import form_token
    from tests.outbox.his import ack_for

    his.behaviour = lambda message: [ack_for(message, "AR", "refused")]
    try:
        order(reporting.mllp_port, unique, 1)
        stored = stow_testdata(reporting, "CT_small.dcm", f"WL{unique}",
                               AccessionNumber=f"A1-{unique}")  # fmt: skip
        with httpx.Client(base_url=reporting.url) as client:
            token = form_token(client, f"/console/studies/{stored.study}")
            signed = client.post(f"/console/studies/{stored.study}/reports",
                                 data={"csrf_token": token, "conclusion": "Refused."})  # fmt: skip
            assert signed.status_code == 303
            pk = _dead_message(client)
            page = client.get(f"/console/outbox/{pk}").text
            assert "Retry" in page and "Cancel: do not send" in page
            assert client.post(f"/console/outbox/{pk}/cancel",
                               data={"csrf_token": token}).status_code == 303  # fmt: skip
            again = client.post(f"/console/outbox/{pk}/cancel", data={"csrf_token": token})
            assert again.status_code == 409 and "can be cancelled only when" in again.text
            retried = client.post(f"/console/outbox/{pk}/retry", data={"csrf_token": token},
                                  follow_redirects=True)  # fmt: skip
            assert "The message is back in the queue" in retried.text
    finally:
        from tests.outbox.his import always_aa

        his.behaviour = always_aa


def _dead_message(client: httpx.Client, seconds: float = 20) -> int:
    import re

    deadline = time.monotonic() + seconds
    while True:
        listing = client.get("/console/outbox", params={"status": "dead"}).text
        found = re.findall(r'href="/console/outbox/(\d+)"', listing)
        if found or time.monotonic() > deadline:
            assert found, "no dead message"
            return int(found[0])
        time.sleep(0.2)


def _patient_of(server, study_uid: str) -> str:
    study = httpx.get(
        f"{server.url}/fhir/R4/ImagingStudy",
        params={"identifier": f"urn:dicom:uid|urn:oid:{study_uid}"},
    ).json()
    return study["entry"][0]["resource"]["subject"]["reference"]
