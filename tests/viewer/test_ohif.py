"""The OHIF viewer at /viewer, in Debian's Chromium driven by Playwright, drawing a stored CT.

The viewer is installed from the tarball that ``make test`` caches (``npm pack
@ohif/app``); the study arrives by C-STORE and reaches the viewer only through our
DICOMweb. The image is judged by its pixels: a drawn CT slice fills the viewport with
many grey levels, an empty or failed viewport is black with a line of text.
"""

from __future__ import annotations

import contextlib
import os
import time
from io import BytesIO
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread

from pacsbridge.viewer import OHIF_VERSION, install_viewer
from tests.dicom.test_storage import c_store, fresh_ct, imaging_study

ROOT = Path(__file__).resolve().parents[2]
TARBALL = ROOT / ".cache" / "ohif" / f"ohif-app-{OHIF_VERSION}.tgz"
ARTIFACTS = Path(os.environ.get("PACSBRIDGE_ARTIFACTS", ROOT / "test-artifacts"))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--use-gl=angle",
    "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
]  # fmt: skip


def _needs(what: str, present: bool) -> None:
    if not present:
        message = f"{what} is missing (make test installs it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def viewer(server, settings) -> str:
    """The viewer installed in the server's data dir; its URL."""
    _needs(str(TARBALL), TARBALL.is_file())
    install_viewer(settings.data_dir, TARBALL)
    return f"{server.url}/viewer"


@pytest.fixture
def browser():
    """Chromium for one test: Playwright's sync API runs an event loop in this thread while
    it is open, which would stop later tests from using asyncio.run."""
    _needs(CHROMIUM, Path(CHROMIUM).is_file())
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def stored_ct(server, tmp_path: Path, unique: str) -> tuple[str, str]:
    """A fresh CT stored by C-STORE; its patient ID and study UID."""
    path = fresh_ct(tmp_path, unique)
    assert c_store(server.dicom_port, path) == [0x0000]
    return f"WL{unique}", str(dcmread(path).StudyInstanceUID)


def test_viewer_is_served_under_its_mount_with_our_dicomweb(viewer: str):
    page = httpx.get(f"{viewer}/")
    assert page.status_code == 200 and 'window.PUBLIC_URL="/viewer/"' in page.text
    assert 'src="/viewer/app.bundle.' in page.text and "init-service-worker" not in page.text
    config = httpx.get(f"{viewer}/app-config.js").text
    assert "qidoRoot: '/dicomweb'" in config and "routerBasename: '/viewer'" in config
    deep = httpx.get(f"{viewer}/viewer?StudyInstanceUIDs=1.2.3")  # one of OHIF's own routes
    assert deep.status_code == 200 and deep.text == page.text
    assert httpx.get(f"{viewer}/no-such-bundle.js").status_code == 404
    assert "root:" not in httpx.get(f"{viewer}/..%2F..%2F..%2Fetc%2Fpasswd").text


def test_the_imaging_study_links_to_the_viewer(viewer: str, fhir_base: str, stored_ct):
    _, study_uid = stored_ct
    study = imaging_study(fhir_base, study_uid)
    endpoints = [httpx.get(f"{fhir_base}/{e['reference']}").json() for e in study["endpoint"]]
    iid = next(e for e in endpoints if e["connectionType"]["code"] == "ihe-iid")
    assert iid["address"].endswith("/viewer/IHEInvokeImageDisplay")
    # The Endpoint is made once per database, with the base URL of whoever stored first:
    # call the IID path on this server.
    opened = httpx.get(f"{viewer}/IHEInvokeImageDisplay",
                       params={"requestType": "STUDY", "studyUID": study_uid})  # fmt: skip
    assert opened.status_code == 302
    assert opened.headers["location"] == f"/viewer/viewer?StudyInstanceUIDs={study_uid}"
    refused = httpx.get(f"{viewer}/IHEInvokeImageDisplay", params={"requestType": "STUDY"})
    assert refused.status_code == 400 and "studyUID" in refused.text


def test_study_list_shows_the_study_and_the_viewer_draws_it(viewer: str, browser, stored_ct):
    patient_id, study_uid = stored_ct
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    try:
        page.goto(f"{viewer}/?mrn={patient_id}")
        page.get_by_text("CompressedSamples").first.wait_for(timeout=30_000)
        page.screenshot(path=ARTIFACTS / "ohif-study-list.png")
        assert page.get_by_text("1-1 of 1").count() == 1

        page.goto(f"{viewer}/IHEInvokeImageDisplay?requestType=STUDY&studyUID={study_uid}")
        _dismiss_overlays(page)
        canvas = page.locator("canvas").first
        canvas.wait_for(timeout=30_000)
        shot = _wait_for_image(page)
        (ARTIFACTS / "ohif-viewer.png").write_bytes(shot)
        grey_levels, lit = _judge(shot)
        assert lit > 0.10 and grey_levels > 40, (grey_levels, lit, failed)
        assert not [f for f in failed if "/dicomweb/" in f], failed
    finally:
        page.close()


def _dismiss_overlays(page) -> None:
    """OHIF's first-visit tour and notice cover the image."""
    for label in ("Skip all", "Confirm and hide"):
        button = page.get_by_text(label)
        with contextlib.suppress(Exception):  # not shown this time
            button.first.click(timeout=5_000)


def _wait_for_image(page, seconds: float = 45) -> bytes:
    """Screenshots of the main viewport until it shows an image (or time runs out)."""
    viewport = page.locator(".cornerstone-viewport-element, [data-viewport-uid]").first
    deadline = time.monotonic() + seconds
    while True:
        shot = viewport.screenshot() if viewport.count() else page.screenshot()
        grey_levels, lit = _judge(shot)
        if (lit > 0.10 and grey_levels > 40) or time.monotonic() > deadline:
            return shot
        time.sleep(1)


def _judge(png: bytes) -> tuple[int, float]:
    """Distinct grey levels and the share of pixels that are neither black nor near it."""
    from PIL import Image

    grey = Image.open(BytesIO(png)).convert("L")
    histogram = grey.histogram()
    total = sum(histogram)
    return sum(1 for count in histogram if count), sum(histogram[24:]) / total


def test_viewer_not_installed_says_how_to_install(tmp_path: Path):
    from starlette.applications import Starlette
    from starlette.routing import Mount
    from starlette.testclient import TestClient

    from pacsbridge.viewer import viewer_routes

    client = TestClient(Starlette(routes=[Mount("/viewer", routes=viewer_routes(tmp_path))]))
    answer = client.get("/viewer/")
    assert answer.status_code == 404 and "pacsbridge viewer install" in answer.text


def test_install_refuses_a_tarball_without_a_viewer(tmp_path: Path):
    import tarfile

    from pacsbridge.viewer import ViewerInstallError

    bogus = tmp_path / "bogus.tgz"
    with tarfile.open(bogus, "w:gz") as archive:
        readme = tmp_path / "README"
        readme.write_text("nothing here")
        archive.add(readme, arcname="package/README")
    with pytest.raises(ViewerInstallError, match="no built viewer"):
        install_viewer(tmp_path / "data", bogus)
    assert not (tmp_path / "data" / "viewer").exists()


def test_cli_install_says_what_went_wrong(tmp_path: Path):
    from tests.test_cli_hl7 import run

    bogus = tmp_path / "not-a-tarball.tgz"
    bogus.write_bytes(b"nothing")
    done = run("viewer", "install", "--data-dir", str(tmp_path / "data"), "--tarball", str(bogus))
    assert done.returncode == 1 and "cannot unpack" in done.stderr
