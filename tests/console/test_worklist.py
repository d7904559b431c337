"""The worklist in Chromium: an ORM's item is listed; an item added, edited and cancelled in
the console reaches the modalities' C-FIND as any order does."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from pacsbridge.store.tables import worklist_item
from tests.console.conftest import shoot
from tests.dicom.test_worklist import c_find, order, query


def _row(page, text: str):
    return page.locator("table.list tbody tr", has_text=text)


def test_the_item_an_orm_created_is_on_the_days_worklist(page, server, unique):
    today = date.today()
    order(server.mllp_port, unique, 1, start=f"{today:%Y%m%d}093000")
    page.goto("/console/worklist")
    row = _row(page, f"A1-{unique}")
    assert row.count() == 1
    text = row.inner_text()
    assert "09:30" in text and "GARCÍA, PEDRO" in text and "CT" in text and "SCHEDULED" in text
    page.get_by_label("Modality").select_option("CT")
    page.get_by_role("button", name="Show").click()
    assert _row(page, f"A1-{unique}").count() == 1
    shoot(page, "worklist", server)


def test_an_item_is_added_edited_and_cancelled(page, server, unique):
    accession = f"C{unique[:10]}"
    day = date.today().isoformat()
    page.goto("/console/worklist")
    page.get_by_role("link", name="Add a worklist item").click()
    page.get_by_role("button", name="Save").click()  # empty: refused, the errors listed first
    summary = page.locator("#error-summary")
    assert "Describe the procedure" in summary.inner_text()
    assert page.locator("#f-procedure").get_attribute("aria-invalid") == "true"
    shoot(page, "worklist-form-errors", server)

    for field, value in (("patient_id", f"CW{unique}"), ("issuer", "HIS"), ("family", "Núñez"),
                         ("given", "Eva"), ("birth_date", "1980-02-29"),
                         ("procedure", "CT head without contrast"), ("procedure_code", "CTHEAD"),
                         ("day", day), ("start", "10:15"), ("station_ae", "CT_ROOM_9"),
                         ("accession", accession)):  # fmt: skip
        page.locator(f"#f-{field}").fill(value)
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Modality").select_option("CT")
    page.get_by_label("Priority").select_option("urgent")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/console/worklist?**done=created**")
    assert page.get_by_role("status").inner_text() == "The worklist item was added."
    row = _row(page, accession)
    assert "Núñez, Eva" in row.inner_text() and "CT_ROOM_9" in row.inner_text()
    answers, _ = c_find(server.dicom_port, query(AccessionNumber=accession))
    assert len(answers) == 1 and str(answers[0].PatientName) == "Núñez^Eva"
    step = answers[0].ScheduledProcedureStepSequence[0]
    assert (step.ScheduledStationAETitle, step.ScheduledProcedureStepStartTime) == (
        "CT_ROOM_9", "101500")  # fmt: skip

    row.get_by_role("link", name="Edit").click()
    page.wait_for_url("**/console/worklist/*")
    assert page.locator("#f-accession").input_value() == accession
    shoot(page, "worklist-edit", server)
    page.locator("#f-station_ae").fill("CT_ROOM_8")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**done=saved**")
    assert "CT_ROOM_8" in _row(page, accession).inner_text()
    answers, _ = c_find(server.dicom_port, query(AccessionNumber=accession))
    assert answers[0].ScheduledProcedureStepSequence[0].ScheduledStationAETitle == "CT_ROOM_8"

    _row(page, accession).get_by_role("button", name="Cancel").click()
    page.wait_for_url("**done=item-cancelled**")
    assert page.dialogs == [f"Cancel {accession} for Núñez, Eva? Modalities will no longer see it."]
    assert "CANCELED" in _row(page, accession).inner_text()
    assert c_find(server.dicom_port, query(AccessionNumber=accession))[0] == []
    with server.store.reader() as reader:
        status = reader.connection.execute(select(worklist_item.c.status).where(
            worklist_item.c.accession == accession)).scalar_one()  # fmt: skip
    assert status == "CANCELED"


def test_an_edit_over_a_newer_version_is_refused(console, server, unique):
    from tests.console.conftest import form_token

    token = form_token(console, "/console/worklist/new")
    fields = {
        "csrf_token": token,
        "patient_id": f"VC{unique}",
        "family": "Race",
        "procedure": "MR knee",
        "modality": "MR",
        "day": "2031-05-05",
        "start": "07:00",
        "priority": "routine",
        "procedure_scheme": "L",
        "accession": f"V{unique[:10]}",
    }
    assert console.post("/console/worklist/new", data=fields).status_code == 303
    with server.store.reader() as reader:
        order_id = reader.connection.execute(select(worklist_item.c.service_request_id).where(
            worklist_item.c.accession == f"V{unique[:10]}")).scalar_one()  # fmt: skip
    first = {**fields, "version": "1", "station_ae": "ONE"}
    assert console.post(f"/console/worklist/{order_id}", data=first).status_code == 303
    stale = console.post(f"/console/worklist/{order_id}", data={**first, "station_ae": "TWO"})
    assert stale.status_code == 409 and "changed this item meanwhile" in stale.text
