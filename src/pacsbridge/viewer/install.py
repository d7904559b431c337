"""Installing the OHIF viewer into the data dir, configured for our own DICOMweb.

The npm package ``@ohif/app`` ships a complete build in ``package/dist``. It is built to
live at the site root; we serve it under ``/viewer`` so the root stays free for the
console, which means rewriting the few absolute paths of the build at install time
(the HTML's links, webpack's public path, the microscopy loader) rather than at each
request. The service worker is left out: it would cache an old viewer across upgrades.

Nothing here runs at server start: installing needs npm (or a tarball) once, by hand.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

OHIF_PACKAGE = "@ohif/app"
OHIF_VERSION = "3.13.2"  # the version tested in tests/viewer
MOUNT = "/viewer/"
MARKER = "pacsbridge-viewer.json"  # records what was installed, and that it was patched

APP_CONFIG = """\
/* Written by `pacsbridge viewer install`: OHIF reads pacsbridge's own DICOMweb. */
window.config = {
  routerBasename: '/viewer',
  showStudyList: true,
  extensions: [],
  modes: [],
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  defaultDataSourceName: 'dicomweb',
  dataSources: [{
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'dicomweb',
    configuration: {
      friendlyName: 'pacsbridge', name: 'pacsbridge',
      wadoUriRoot: '/dicomweb', qidoRoot: '/dicomweb', wadoRoot: '/dicomweb',
      qidoSupportsIncludeField: false, supportsReject: false,
      imageRendering: 'wadors', thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true, supportsFuzzyMatching: false, supportsWildcard: true,
      staticWado: false, singlepart: 'bulkdata,video', bulkDataURI: { enabled: true },
    },
  }],
};
"""


class ViewerInstallError(RuntimeError):
    """The viewer could not be fetched or unpacked; the message says what to do."""


def viewer_dir(data_dir: Path) -> Path:
    return data_dir / "viewer"


def fetch_tarball(version: str, into: Path) -> Path:
    """``npm pack`` the viewer package into ``into``; the one step that needs the registry."""
    if shutil.which("npm") is None:
        raise ViewerInstallError(
            "npm is not installed: install it (apt-get install npm) or pass --tarball with "
            f"a file made elsewhere by `npm pack {OHIF_PACKAGE}@{version}`"
        )
    done = subprocess.run(
        ["npm", "pack", "--silent", f"{OHIF_PACKAGE}@{version}"],
        cwd=into, capture_output=True, text=True, check=False,
    )  # fmt: skip
    names = done.stdout.split()
    if done.returncode != 0 or not names or not (into / names[-1]).is_file():
        raise ViewerInstallError(
            f"npm pack {OHIF_PACKAGE}@{version} failed: {done.stderr.strip()[-500:]}"
        )
    return into / names[-1]


def install_viewer(data_dir: Path, tarball: Path | None = None,
                   version: str = OHIF_VERSION) -> Path:  # fmt: skip
    """Unpack, patch and configure the viewer in ``data_dir/viewer``; replaces an old one.

    The new viewer is assembled beside the old one and swapped in by renames, so a
    running server never serves half an install.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    target = viewer_dir(data_dir)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".viewer-") as work:
        work_dir = Path(work)
        source = tarball if tarball is not None else fetch_tarball(version, work_dir)
        staged = work_dir / "dist"
        _extract_dist(source, staged)
        _patch_for_mount(staged)
        (staged / "app-config.js").write_text(APP_CONFIG)
        (staged / MARKER).write_text(json.dumps({"package": OHIF_PACKAGE,
                                                 "version": _package_version(source)}))  # fmt: skip
        old = work_dir / "old"
        if target.exists():
            target.rename(old)
        staged.rename(target)
    return target


def _extract_dist(tarball: Path, into: Path) -> None:
    prefix = "package/dist/"
    try:
        with tarfile.open(tarball, "r:gz") as archive:
            members = [m for m in archive.getmembers() if m.name.startswith(prefix)]
            if not any(m.name == prefix + "index.html" for m in members):
                raise ViewerInstallError(f"{tarball} holds no built viewer ({prefix}index.html)")
            for member in members:
                member.name = member.name[len(prefix) :]
            archive.extractall(into, members=[m for m in members if m.name], filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise ViewerInstallError(f"cannot unpack {tarball}: {exc}") from exc


def _package_version(tarball: Path) -> str:
    with tarfile.open(tarball, "r:gz") as archive:
        member = archive.extractfile("package/package.json")
        return str(json.load(member)["version"]) if member else "unknown"


def _patch_for_mount(dist: Path) -> None:
    """Point the build's absolute paths at ``/viewer/`` instead of ``/``."""
    index = dist / "index.html"
    html = index.read_text()
    html = re.sub(r'<script[^>]*init-service-worker\.js"[^>]*></script>', "", html)
    html = html.replace('window.PUBLIC_URL="/"', f'window.PUBLIC_URL="{MOUNT}"')
    html = re.sub(r'(href|src|content)="/(?!/)', rf'\1="{MOUNT}', html)
    index.write_text(html)
    patched = False
    for bundle in dist.glob("*.js"):  # the app and its workers each set a public path
        code = bundle.read_text()
        new = code.replace('__webpack_require__.p = "/";', f'__webpack_require__.p = "{MOUNT}";')
        new = new.replace("'/dicom-microscopy-viewer/", f"'{MOUNT}dicom-microscopy-viewer/")
        if new != code:
            patched = patched or bundle.name.startswith("app.bundle.")
            bundle.write_text(new)
    for sheet in dist.glob("*.css"):  # fonts by absolute URL
        sheet.write_text(re.sub(r"url\(/(?!/)", f"url({MOUNT}", sheet.read_text()))
    if not patched:
        raise ViewerInstallError("this OHIF build has an unexpected layout (public path not found)")
