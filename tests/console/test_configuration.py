"""The configuration and health page: what the process runs with, secrets hidden."""

from __future__ import annotations

from tests.console.conftest import shoot


def test_settings_partners_and_peers_are_shown(page, server):
    page.goto("/console/configuration")
    settings = page.locator("table.settings").inner_text()
    assert "mllp_port" in settings and str(server.mllp_port) in settings
    assert "HOSPITAL_A" in page.inner_text("main")  # the test partner
    peers = page.get_by_role("region", name="DICOM peers").inner_text()
    assert "NOSTATION" in peers and "worklist_station_from_calling_ae" in peers
    health = page.locator("section", has_text="Parts").inner_text()
    assert "reachable" in health and server.store.database.dialect in health
    shoot(page, "configuration", server)
