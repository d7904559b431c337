"""The console in Debian's Chromium driven by Playwright, and plain HTTP clients for its forms.

Screenshots of every page go to ``test-artifacts/console/`` (``PACSBRIDGE_ARTIFACTS``
elsewhere), one per page and database, to be looked at, not only asserted on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pacsbridge.app import build_store
from pacsbridge.config import Settings
from tests.auth.conftest import mint, secured  # noqa: F401 - the required-mode server, tokens
from tests.conftest import TEST_PARTNER, RunningServer, free_port
from tests.outbox import conftest as outbox_fixtures
from tests.outbox.conftest import destination
from tests.outbox.his import HisSimulator
from tests.viewer import test_ohif
from tests.viewer.test_ohif import ARTIFACTS

SHOTS = ARTIFACTS / "console"
browser = test_ohif.browser  # Chromium for one test, as the viewer's tests have it
his = outbox_fixtures.his  # the HIS simulator of the outbound tests
TOKEN = re.compile(r'name="csrf_token" value="([0-9a-f]{64})"')


@pytest.fixture
def page(browser, server):
    """A 1280 px wide tab on the open-mode server; see :func:`watched`."""
    yield from watched(browser, server.url)


def watched(browser, url: str, cookies: list[dict] | None = None):
    """A tab on ``url`` that fails the test on a script error or a broken part of a page (a
    stylesheet, script, thumbnail or live fragment); a refused form is a page, not a part."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=url)
    if cookies:
        context.add_cookies(cookies)
    tab = context.new_page()
    tab.dialogs = []  # the questions asked (data-confirm), each answered yes
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.accept()))
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("requestfailed", lambda r: errors.append(f"failed: {r.url}"))
    tab.on("response", lambda r: errors.append(f"{r.status} {r.url}")
           if r.status >= 400 and r.request.resource_type != "document" else None)  # fmt: skip
    yield tab
    context.close()
    assert not errors, errors


def shoot(page, name: str, server: RunningServer, *, full: bool = True) -> Path:
    """Save a screenshot as ``<name>-<database>.png``; its path."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}-{server.store.database.dialect}.png"
    page.screenshot(path=path, full_page=full)
    return path


def form_token(client: httpx.Client, path: str) -> str:
    """The CSRF token of a console page, as a browser would read it from the form."""
    answer = client.get(path)
    assert answer.status_code == 200, answer.text
    found = TOKEN.search(answer.text)
    assert found, "no form token on the page"
    return found.group(1)


@pytest.fixture
def console(server) -> Iterator[httpx.Client]:
    """An HTTP client keeping cookies, as one browser does, on the open-mode server."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def reporting(database_url: str, his: HisSimulator, tmp_path_factory) -> Iterator[RunningServer]:
    """pacsbridge sending reports to the HIS simulator (the session server has no destination)."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("console-reporting"), database_url=database_url,
        host="127.0.0.1", http_port=free_port(), mllp_port=free_port(), dicom_port=free_port(),
        ae_title="PACSBRIDGE", partners=[TEST_PARTNER],
        destinations=[destination(his, events=["report"])],
    )  # fmt: skip
    store = build_store(settings)
    with RunningServer(settings, store) as running:
        yield running
    store.database.dispose()
