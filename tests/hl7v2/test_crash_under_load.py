"""SIGKILL under load: every message that was acknowledged is stored once, with its effects.

Eight senders behave as a HIS does: one message at a time per connection, and a message
without an ACK (connection refused, reset or silent) is sent again, unchanged, until an
AA comes. Meanwhile the server (a real ``pacsbridge serve`` process) is killed with
SIGKILL at random moments and started again. At the end each order that was ACKed must
exist exactly once, as a ServiceRequest and as a worklist row. The CI run kills the
server ``CRASH_KILLS`` times (3); ``PACSBRIDGE_CRASH_KILLS=10`` makes the full run.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import threading
import time

import httpx
from sqlalchemy import create_engine, text

from pacsbridge.demo.orders import order
from pacsbridge.demo.scenario import PATIENTS, Scenario
from tests.conftest import free_port
from tests.hl7v2.test_receive import CR, FS, VT, msa, read_frame
from tests.processes import serving

SENDERS = 8
PER_SENDER = 50
CRASH_KILLS = int(os.environ.get("PACSBRIDGE_CRASH_KILLS", "3"))
PACE = 0.05  # seconds between one sender's messages: 50 take at least 2.5 s of uptime


def orders_of(sender: int, unique: str) -> list[tuple[str, bytes]]:
    found = []
    for n in range(PER_SENDER):
        family, given, sex, born = PATIENTS[(sender + n) % len(PATIENTS)]
        scenario = Scenario(run=f"{unique[:6]}{sender}{n:03d}", family=family, given=given,
                            sex=sex, birth_date=born)  # fmt: skip
        found.append((scenario.accession, order(scenario)))
    return found


def send_until_acked(port: int, messages: list[tuple[str, bytes]], acked: list[str],
                     give_up: float) -> None:  # fmt: skip
    """Each message again and again, on a new connection when needed, until it is AA."""
    sock: socket.socket | None = None
    for accession, message in messages:
        while time.monotonic() < give_up:
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(VT + message + FS + CR)
                if msa(read_frame(sock))[1] == "AA":
                    acked.append(accession)
                    time.sleep(PACE)  # a steady load, so that every kill comes under it
                    break
            except (OSError, AssertionError):
                pass  # refused, reset, closed or silent: as a HIS would, send it again
            if sock is not None:
                sock.close()
                sock = None
            time.sleep(0.1)
    if sock is not None:
        sock.close()


def test_acked_messages_survive_sigkill_exactly_once(database_url, tmp_path, unique):
    http, mllp = free_port(), free_port()
    acked: list[str] = []
    give_up = time.monotonic() + 180
    senders = [
        threading.Thread(target=send_until_acked,
                         args=(mllp, orders_of(n, unique), acked, give_up), daemon=True)
        for n in range(SENDERS)
    ]  # fmt: skip
    random_moments = random.Random(unique)
    at_kill: list[int] = []  # how many were acknowledged when each kill came
    for kill in range(CRASH_KILLS + 1):
        with serving(database_url, tmp_path / "data", http, mllp_port=mllp) as process:
            if kill == 0:
                for thread in senders:
                    thread.start()
            if kill == CRASH_KILLS:  # the last run: let the senders finish
                for thread in senders:
                    thread.join(max(1.0, give_up - time.monotonic()))
                break
            time.sleep(random_moments.uniform(0.3, 1.2))
            at_kill.append(len(acked))
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    total = SENDERS * PER_SENDER
    assert len(acked) == total, f"{len(acked)} acknowledged"
    assert any(0 < n < total for n in at_kill), f"no kill came under load: {at_kill}"

    with serving(database_url, tmp_path / "data", http):
        assert not_stored_once(f"http://127.0.0.1:{http}/fhir/R4", database_url, acked) == ([], [])


def not_stored_once(fhir_base: str, database_url: str, acked: list[str]
                    ) -> tuple[list[str], list[str]]:  # fmt: skip
    """The acknowledged orders (by accession) without exactly one ServiceRequest, and those
    without exactly one worklist row: both empty when nothing was lost or applied twice."""
    missing = [accession for accession in acked if httpx.get(
        f"{fhir_base}/ServiceRequest", params={"identifier": accession, "_summary": "count"}
    ).json().get("total") != 1]  # fmt: skip
    engine = create_engine(database_url)
    with engine.connect() as connection:
        rows = dict(connection.execute(text(
            "SELECT accession, COUNT(*) FROM worklist_item GROUP BY accession")).all())  # fmt: skip
    engine.dispose()
    return missing, [accession for accession in acked if rows.get(accession) != 1]
