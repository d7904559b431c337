"""Orthanc (Debian's package) run by hand as the reference DICOM archive for benchmarks.

The package's service does not run here, and its default ports and folders may be in use,
so each run gets a configuration of its own: storage and index in a folder we choose, our
own HTTP and DICOM ports, no authentication, the DICOMweb plug-in at ``/dicom-web/``.
Everything else keeps Orthanc's defaults (SQLite index, ``SyncStorageArea`` on, so each
file is fsynced; DICOMweb ``SeriesMetadata`` "Full"), so the figures are Orthanc as shipped,
except for ``TCP_NODELAY=1`` in its environment: its DICOM side is dcmtk 3.6.7, which leaves
Nagle's algorithm on without it, and each C-STORE answer would then wait ~40 ms.

    from orthanc import orthanc
    with orthanc(folder, http_port, dicom_port) as server:
        server.statistics()["CountInstances"]
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

PLUGINS = "/usr/share/orthanc/plugins"
AE_TITLE = "ORTHANC"


def free_port() -> int:
    """A TCP port nobody listens on now (the kernel's choice)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Orthanc:
    http_port: int
    dicom_port: int
    process: subprocess.Popen[bytes]
    ae_title: str = AE_TITLE

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def statistics(self) -> dict[str, Any]:
        """``/statistics``: CountInstances, CountStudies, TotalDiskSizeMB..."""
        return httpx.get(f"{self.url}/statistics", timeout=30).json()

    def pid(self) -> int:
        return self.process.pid


def write_config(folder: Path, http_port: int, dicom_port: int, **extra: Any) -> Path:
    """The configuration file of one run; ``extra`` keys override (e.g. DicomThreadsCount)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "Name": "bench",
        "StorageDirectory": str(folder / "storage"),
        "IndexDirectory": str(folder / "index"),
        "HttpPort": http_port,
        "DicomPort": dicom_port,
        "DicomAet": AE_TITLE,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "Plugins": [PLUGINS],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
        **extra,
    }
    path = folder / "orthanc.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


@contextmanager
def orthanc(
    folder: Path, http_port: int = 0, dicom_port: int = 0, **extra: Any
) -> Iterator[Orthanc]:
    """Orthanc up and answering ``/system``; its data stays in ``folder`` for the next start."""
    if shutil.which("Orthanc") is None:
        raise RuntimeError("Orthanc is needed: apt-get install -y orthanc orthanc-dicomweb")
    http_port, dicom_port = http_port or free_port(), dicom_port or free_port()
    config = write_config(folder, http_port, dicom_port, **extra)
    log = (folder / "orthanc.log").open("ab")
    env = {**os.environ, "TCP_NODELAY": "1"}  # its DICOM side is dcmtk 3.6.7: Nagle otherwise
    process = subprocess.Popen(["Orthanc", str(config)], stdout=log, stderr=subprocess.STDOUT,
                               env=env)  # fmt: skip
    server = Orthanc(http_port, dicom_port, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = (folder / "orthanc.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"Orthanc did not start:\n{tail}")
            try:
                if httpx.get(f"{server.url}/system", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
