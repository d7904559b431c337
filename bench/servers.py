"""Starting the two servers as subprocesses, and driving wrk against them.

Each server runs alone in its own process while it is measured (never both at once, the
machine has two cores and wrk needs one), started fresh from the same data so that neither
benefits from the other's warm caches more than the OS page cache gives both.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from load import Loaded

BENCH = Path(__file__).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    name: str
    base: str  # URL prefix under which /Patient/{id} answers
    process: subprocess.Popen[bytes]


def _command(kind: str, loaded: Loaded, port: int) -> tuple[list[str], str]:
    if kind == "pacsbridge":
        command = [sys.executable, "-m", "pacsbridge", "serve", "--data-dir", str(loaded.data_dir),
                   "--database-url", loaded.database_url, "--host", "127.0.0.1",
                   "--http-port", str(port), "--log-level", "warning"]  # fmt: skip
        return command, f"http://127.0.0.1:{port}/fhir/R4"
    command = [sys.executable, str(BENCH / "baseline_app.py"),
               "--database-url", loaded.database_url, "--port", str(port)]  # fmt: skip
    return command, f"http://127.0.0.1:{port}"


@contextmanager
def running(kind: str, loaded: Loaded, probe_id: str) -> Iterator[Server]:
    """The server ``kind`` (pacsbridge or baseline), up and answering a read."""
    port = free_port()
    command, base = _command(kind, loaded, port)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{kind} exited with {process.returncode}: {command}")
            try:
                if httpx.get(f"{base}/Patient/{probe_id}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} did not answer within 60 s")
            time.sleep(0.2)
        yield Server(kind, base, process)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    errors: int


def wrk(server: Server, ids_file: Path, threads: int, connections: int, seconds: int) -> WrkResult:
    """One wrk run of random reads; the figures come from the Lua ``done`` hook's JSON."""
    parts = urlsplit(server.base)
    origin = f"{parts.scheme}://{parts.netloc}"
    env = {**os.environ, "WRK_IDS": str(ids_file), "WRK_PREFIX": f"{parts.path}/Patient/"}
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency",
               "-s", str(BENCH / "read_ids.lua"), origin]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    line = next(x for x in done.stderr.splitlines() if x.startswith("WRKJSON "))
    data = json.loads(line.removeprefix("WRKJSON "))
    return WrkResult(
        requests=data["requests"],
        seconds=data["seconds"],
        rps=data["requests"] / data["seconds"],
        p50_ms=data["p50"] / 1000,
        p90_ms=data["p90"] / 1000,
        p99_ms=data["p99"] / 1000,
        errors=data["errors"] + data["non2xx"],
    )
