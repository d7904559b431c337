"""PostgreSQL restarted under MLLP load: messages are refused or held, never ACKed and lost.

The suite's other databases live on the machine's PostgreSQL, so this test runs a private
cluster of its own (initdb in a temporary folder, its own port) and restarts that one
twice while eight HIS-like senders resend every message until it is AA. Afterwards each
acknowledged order exists exactly once, as a ServiceRequest and as a worklist row. The
long version, against the machine's cluster, is ``python bench/crash_postgres.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.hl7v2 import test_crash_under_load as load
from tests.processes import serving

RESTART_AT = (0.2, 0.6)  # restarted when these shares of the messages are acknowledged
PER_SENDER = 25


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return found[-1].parent if found else None


class PrivateCluster:
    """A PostgreSQL cluster of this test's own, run as the ``postgres`` user when root."""

    def __init__(self, bin_dir: Path, folder: Path) -> None:
        self.bin, self.data, self.port = bin_dir, folder / "data", free_port()
        self.socket_dir = folder
        as_postgres = os.geteuid() == 0
        self.prefix = ["runuser", "-u", "postgres", "--"] if as_postgres else []
        if as_postgres:
            shutil.chown(folder, "postgres")
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l",
                  str(self.socket_dir / "log"), "start")  # fmt: skip

    def restart(self) -> float:
        started = time.monotonic()
        # -l: the new server must not inherit (and hold open) the pipes of this call
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-l",
                  str(self.socket_dir / "log"), "restart")  # fmt: skip
        return time.monotonic() - started

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run([*self.prefix, str(self.bin / program), *args], check=check,
                       capture_output=True, timeout=120)  # fmt: skip


@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    bin_dir = _postgres_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    with tempfile.TemporaryDirectory(prefix="pb-pg-") as folder:
        cluster = PrivateCluster(bin_dir, Path(folder))
        cluster.start()
        try:
            yield cluster
        finally:
            cluster.stop()


def test_acked_messages_survive_postgres_restarts_exactly_once(private_postgres, tmp_path,
                                                               unique, monkeypatch):  # fmt: skip
    monkeypatch.setattr(load, "PER_SENDER", PER_SENDER)
    acked: list[str] = []
    http, mllp = free_port(), free_port()
    with serving(private_postgres.url, tmp_path / "data", http, mllp_port=mllp):
        give_up = time.monotonic() + 180
        senders = [threading.Thread(target=load.send_until_acked, daemon=True,
                                    args=(mllp, load.orders_of(n, unique), acked, give_up))
                   for n in range(load.SENDERS)]  # fmt: skip
        for thread in senders:
            thread.start()
        during = []
        total = load.SENDERS * PER_SENDER
        for share in RESTART_AT:  # by progress, not by the clock: a fast run ends early
            while len(acked) < share * total and time.monotonic() < give_up:
                time.sleep(0.005)
            during.append(len(acked))
            private_postgres.restart()
        for thread in senders:
            thread.join(max(1.0, give_up - time.monotonic()))
        assert all(0 < count < total for count in during), during  # restarts came under load
        assert len(acked) == total, f"{len(acked)} of {total} acknowledged"
        base = f"http://127.0.0.1:{http}/fhir/R4"
        assert load.not_stored_once(base, private_postgres.url, acked) == ([], [])
