"""A real ``pacsbridge serve`` process for the tests that kill or multiply servers."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import free_port


@contextmanager
def serving(database_url: str, data_dir: Path, http_port: int, *, mllp_port: int | None = None,
            config: Path | None = None, options: tuple[str, ...] = (),
            log: Path | None = None) -> Iterator[subprocess.Popen[bytes]]:  # fmt: skip
    """The server, answering ``/healthz``; killed (if still alive) when the block ends.
    ``options`` are more ``serve`` flags; ``log`` keeps its output (else discarded)."""
    command = [sys.executable, "-m", "pacsbridge", "serve", "--data-dir", str(data_dir),
               "--database-url", database_url, "--host", "127.0.0.1",
               "--http-port", str(http_port), "--mllp-port", str(mllp_port or free_port()),
               "--dicom-port", str(free_port()), "--log-level", "warning"]  # fmt: skip
    if config is not None:
        command += ["--config", str(config)]
    output = log.open("ab") if log is not None else subprocess.DEVNULL
    process = subprocess.Popen([*command, *options], stderr=output,
                               stdout=output if log is not None else None)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{http_port}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.1)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        if log is not None:
            output.close()
