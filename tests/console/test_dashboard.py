"""The dashboard in Chromium: listeners, destinations, the chart, live refresh, keyboard use."""

from __future__ import annotations

from tests.console.conftest import shoot
from tests.hl7v2.test_receive import hl7, mllp_exchange, msa, msh


def test_the_dashboard_shows_every_listener_and_the_traffic(page, server, unique):
    assert (
        msa(
            mllp_exchange(
                server.mllp_port,
                hl7(msh(f"DASH-{unique}", "ADT^A08"), f"PID|1||D{unique}^^^HIS||ROE^ANN"),
            )
        )[1]
        == "AA"
    )
    page.goto("/")
    assert page.url.endswith("/console/")
    banner = page.locator(".open-mode")
    assert banner.get_attribute("role") == "alert"
    assert "Open mode: anyone on this network can read and change patient data" in (
        banner.text_content())  # fmt: skip
    for name, port in (("http", server.settings.http_port), ("mllp", server.mllp_port),
                       ("dicom", server.dicom_port)):  # fmt: skip
        row = page.locator(f'tr[data-listener="{name}"]')
        assert "up" in row.inner_text() and str(port) in row.inner_text()
    chart = page.locator("svg.chart")
    assert chart.count() == 1 and page.locator("svg.chart rect").count() >= 1
    assert "Received" in page.locator(".legend").inner_text()
    assert "No destinations are configured" in page.inner_text("#live")
    shoot(page, "dashboard", server)
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, upright
    shoot(page, "dashboard-tablet", server)


def test_a_refused_message_appears_without_reloading(page, server, unique):
    page.goto("/console/")
    page.wait_for_function("document.readyState === 'complete'")
    ack = mllp_exchange(server.mllp_port, hl7(msh(f"BAD-{unique}", "ZZZ^Z99"), "PID|1||X"))
    assert msa(ack)[1] in ("AR", "AE")
    # The live part is replaced every 5 s: the refusal shows up in place.
    page.get_by_text(f"BAD-{unique}").wait_for(timeout=20_000)
    assert "Updated" in page.locator('[data-live-stamp="live"]').inner_text()
    link = page.get_by_role("link", name=f"ZZZ^Z99 BAD-{unique}")
    assert link.get_attribute("href").startswith("/console/messages/")


def test_the_keyboard_reaches_the_skip_link_first_and_can_pause_updates(page, server):
    page.goto("/console/")
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent")
    assert focused == "Skip to main content"
    assert page.locator(".skip-link").bounding_box()["y"] >= 0  # shown when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    pause = page.locator('[data-live-toggle="live"]')
    assert pause.inner_text() == "Pause live updates"
    pause.focus()
    page.keyboard.press("Enter")
    assert pause.get_attribute("aria-pressed") == "true"
    assert page.get_by_role("button", name="Resume live updates").count() == 1
    # Sections are real links with the current one marked for screen readers.
    current = page.locator('nav a[aria-current="page"]')
    assert current.inner_text() == "Dashboard"
