"""`pacsbridge serve` as a user runs it: a real process, real ports, a restart that keeps data."""

from __future__ import annotations

import os
import signal
import socket
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


def pacsbridge(*argv: str, columns: int = 200) -> subprocess.CompletedProcess[str]:
    """The command as a user runs it, with a wide terminal so lines are not wrapped."""
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    return subprocess.run([sys.executable, "-m", "pacsbridge", *argv], capture_output=True,
                          text=True, timeout=120, env=env)  # fmt: skip


@pytest.mark.parametrize("argv", [["--help"], ["serve", "--help"]])
def test_help_tells_where_to_start(argv: list[str]):
    result = pacsbridge(*argv)
    assert result.returncode == 0
    assert "serve" in result.stdout


def test_help_starts_a_newcomer_with_make_run_then_the_demo_then_the_console():
    shown = pacsbridge("--help").stdout
    steps = ["make run", "pacsbridge demo", "http://localhost:8080/"]
    assert all(step in shown for step in steps)
    assert [shown.index(step) for step in steps] == sorted(shown.index(step) for step in steps)
    panels = ["Run it", "HL7 messages", "Set-up and upkeep", "Who may do what"]
    assert [shown.index(panel) for panel in panels] == sorted(shown.index(p) for p in panels)
    assert shown.index("demo") < shown.index("HL7 messages") < shown.index("outbox")


def test_serve_names_the_port_in_use_and_its_flag(tmp_path: Path):
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = pacsbridge("serve", "--data-dir", str(tmp_path), "--host", "127.0.0.1",
                            "--http-port", str(free_port()), "--mllp-port", str(port),
                            "--dicom-port", str(free_port()))  # fmt: skip
    assert result.returncode == 1
    assert f"port {port} (--mllp-port) is in use" in result.stderr
    assert "choose another port with --mllp-port" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "pacsbridge.db").exists()  # refused before touching anything


def test_serve_refuses_one_port_for_two_listeners(tmp_path: Path):
    port = str(free_port())
    result = pacsbridge("serve", "--data-dir", str(tmp_path), "--host", "127.0.0.1",
                        "--http-port", port, "--mllp-port", port)  # fmt: skip
    assert result.returncode == 1
    assert f"--http-port and --mllp-port are both {port}" in result.stderr


UNREACHABLE = "postgresql://nobody:secret@127.0.0.1:1/none"


@pytest.mark.parametrize(
    "argv",
    [["db", "upgrade", "--database-url", UNREACHABLE],
     ["reindex", "--database-url", UNREACHABLE],
     ["serve", "--database-url", UNREACHABLE, "--http-port", "0", "--mllp-port", "0",
      "--dicom-port", "0"],
     ["outbox", "--database-url", UNREACHABLE, "status"],
     ["messages", "--database-url", UNREACHABLE, "list"],
     ["users", "--database-url", UNREACHABLE, "list"]],
)  # fmt: skip
def test_an_unreachable_database_is_one_line_saying_what_to_check(argv: list[str]):
    result = pacsbridge(*argv)
    assert result.returncode == 1, result.stderr
    assert "cannot use the database postgresql://nobody:***@127.0.0.1:1/none" in result.stderr
    assert "Check --database-url" in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr


def test_a_data_dir_that_cannot_be_made_says_to_choose_another(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = pacsbridge("db", "upgrade", "--data-dir", str(blocker / "data"))
    assert result.returncode == 1
    assert "Choose a --data-dir" in result.stderr and "Traceback" not in result.stderr


def test_a_database_url_of_another_kind_says_how_to_write_one():
    result = pacsbridge("db", "upgrade", "--database-url", "mysql://someone@somewhere/db")
    assert result.returncode == 2
    assert "sqlite:///FILE or postgresql://USER@HOST/DB" in result.stderr


def test_reindex_counts_what_it_rebuilt(tmp_path: Path):
    from pacsbridge.app import build_store
    from pacsbridge.config import Settings

    store = build_store(Settings(data_dir=tmp_path))
    try:
        with store.transaction("test") as transaction:
            for family in ("Reindexed", "Again"):
                transaction.create({"resourceType": "Patient", "name": [{"family": family}]})
    finally:
        store.database.dispose()
    result = pacsbridge("reindex", "--data-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "reindexed 2 resources" in result.stdout


def test_pausing_an_unknown_destination_warns_about_the_name(tmp_path: Path):
    result = pacsbridge("outbox", "--data-dir", str(tmp_path), "pause", "NO-SUCH-HIS")
    assert result.returncode == 0
    assert "destination NO-SUCH-HIS: paused" in result.stdout
    assert "check the name with `pacsbridge outbox status`" in result.stderr
