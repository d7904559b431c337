"""`pacsbridge serve` as a user runs it: a real process, real ports, a restart that keeps data."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port


def start(data_dir: Path, port: int, database_url: str, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PACSBRIDGE_LOG_FORMAT": "json"}
    command = [sys.executable, "-m", "pacsbridge", "serve", "--data-dir", str(data_dir),
               "--http-port", str(port), "--host", "127.0.0.1", "--database-url", database_url,
               "--mllp-port", str(free_port()), "--dicom-port", str(free_port()),
               *extra]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.1)
        if process.poll() is not None:
            raise AssertionError(process.stderr.read())
    process.kill()
    raise AssertionError("server did not become healthy")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    process.send_signal(sig)
    process.wait(timeout=20)


def test_serve_restart_loses_nothing(tmp_path: Path, database_url: str):
    port = free_port()
    process = start(tmp_path, port, database_url)
    base = f"http://127.0.0.1:{port}/fhir/R4"
    try:
        created = httpx.post(
            f"{base}/Patient", json={"resourceType": "Patient", "gender": "female"}
        )
        assert created.status_code == 201
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["status"] == "ok"
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert 'pacsbridge_http_requests_total{method="POST",route="/fhir/R4/{type}"' in metrics
    finally:
        stop(process, signal.SIGKILL)  # no clean shutdown: what was answered must be on disk
    process = start(tmp_path, port, database_url)
    try:
        again = httpx.get(f"{base}/Patient/{created.json()['id']}")
        assert again.status_code == 200
        assert again.json() == created.json()
    finally:
        stop(process)


def test_bad_configuration_is_explained(tmp_path: Path):
    config = tmp_path / "pacsbridge.toml"
    config.write_text('http_port = "eighty"\n')
    result = subprocess.run([sys.executable, "-m", "pacsbridge", "serve", "--config", str(config)],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2
    assert "http_port" in result.stderr and "eighty" in result.stderr


def test_environment_overrides_file_and_flags_override_environment(tmp_path: Path):
    from pacsbridge.config import load_settings

    config = tmp_path / "pacsbridge.toml"
    config.write_text('[server]\nhttp_port = 9000\nae_title = "FROMFILE"\n')
    os.environ["PACSBRIDGE_HTTP_PORT"] = "9100"
    try:
        settings = load_settings(config)
        assert (settings.http_port, settings.ae_title) == (9100, "FROMFILE")
        assert load_settings(config, http_port=9200).http_port == 9200
    finally:
        del os.environ["PACSBRIDGE_HTTP_PORT"]


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]])
def test_help_tells_where_to_start(argv: list[str]):
    result = subprocess.run([sys.executable, "-m", "pacsbridge", *argv], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0
    assert "serve" in result.stdout
