"""Patients and studies in Chromium: a study stored over STOW-RS is found through its patient,
its series shown with thumbnails the browser really draws, and a link opens the viewer."""

from __future__ import annotations

from tests.console.conftest import shoot
from tests.dicomweb.stored import stow_testdata


def test_a_stored_study_is_found_by_patient_with_series_and_thumbnails(page, server, unique):
    first = stow_testdata(server, "CT_small.dcm", f"PS{unique}", PatientName="Lopez^Maria",
                          StudyDescription="CT chest", SeriesDescription="Axial")  # fmt: skip
    stow_testdata(server, "CT_small.dcm", f"PS{unique}", study=first.study, series=first.series,
                  number=2, PatientName="Lopez^Maria", StudyDescription="CT chest",
                  SeriesDescription="Axial")  # fmt: skip
    page.goto("/console/patients")
    page.get_by_label("Identifier").fill(f"PS{unique}")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Lopez, Maria").click()
    page.wait_for_url("**/console/patients/*")
    assert page.get_by_role("heading", level=1).inner_text() == "Lopez, Maria"
    viewer = page.get_by_role("link", name="Open in viewer (CT chest)")
    assert viewer.get_attribute("href") == f"/viewer/viewer?StudyInstanceUIDs={first.study}"
    shoot(page, "patient", server)

    page.get_by_role("link", name="CT chest", exact=True).click()
    page.wait_for_url(f"**/console/studies/{first.study}")
    series = page.locator("section.series")
    assert series.count() == 1 and "Axial" in series.inner_text()
    assert "2 instances" in series.inner_text()
    images = page.locator("ul.thumbnails img")
    assert images.count() == 2
    for i in range(2):
        images.nth(i).scroll_into_view_if_needed()
        page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                               arg=images.nth(i).element_handle(), timeout=20_000)  # fmt: skip
    assert images.first.get_attribute("alt").startswith("CT Image")
    assert page.get_by_role("link", name="Open in viewer").first.get_attribute("href") == (
        f"/viewer/viewer?StudyInstanceUIDs={first.study}")  # fmt: skip
    assert page.get_by_role("button", name="Sign the report").count() == 1
    shoot(page, "study", server)


def test_a_patient_without_studies_and_an_unknown_study(page, console, server, unique):
    page.goto("/console/patients?name=nobody-" + unique)
    assert "No patient matches." in page.inner_text("main")
    assert console.get("/console/studies/1.2.3.4.5.6.999").status_code == 404
    assert console.get("/console/patients/no-such-patient").status_code == 404
