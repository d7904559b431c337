"""SIGKILL with messages in flight: after a restart nothing is lost, and a resend keeps MSH-10.

The server runs as a real ``pacsbridge serve`` process. The HIS takes the first messages
and never answers; the server is killed while it waits, started again, and the HIS
answers from then on. Every report must arrive, in order, and copies must carry the
control ID of the first send so that the HIS can drop them.
"""

from __future__ import annotations

import os
import signal

from tests.conftest import free_port
from tests.outbox.his import HisSimulator, always_aa
from tests.outbox.test_delivery import conclusions, new_patient, post_report, wait_until
from tests.processes import serving


def test_killed_with_messages_in_flight_loses_nothing(database_url, tmp_path, unique):
    his = HisSimulator(behaviour=lambda message: []).start()  # takes, never answers
    config = tmp_path / "pacsbridge.toml"
    config.write_text(f"""
[[destinations]]
name = "HIS_{unique}"
host = "127.0.0.1"
port = {his.port}
ack_timeout_seconds = 2
retry_base_seconds = 0.2
retry_max_seconds = 1
connections = 2
""")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        with serving(database_url, tmp_path / "data", port, config=config) as process:
            patients = [new_patient(base, unique, suffix) for suffix in "AB"]
            for n in range(3):
                for patient_id, _ in patients:
                    post_report(base, patient_id, f"informe {n}")
            # both patients' first reports are out, unanswered
            assert wait_until(lambda: len(his.received) >= 2)
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
        first_sends = {r.field("MSH", 10) for r in his.received}
        his.behaviour = always_aa
        with serving(database_url, tmp_path / "data", port, config=config):
            for _, mrn in patients:
                arrived = wait_until(lambda m=mrn: len(set(conclusions(his.of_patient(m)))) >= 3,
                                     seconds=40)  # fmt: skip
                assert arrived, conclusions(his.of_patient(mrn))
                received = his.of_patient(mrn)
                unique_reports = list(dict.fromkeys(conclusions(received)))
                assert unique_reports == ["informe 0", "informe 1", "informe 2"]
                by_report: dict[str, set[str]] = {}
                for r, text in zip(received, conclusions(received), strict=True):
                    by_report.setdefault(text, set()).add(r.field("MSH", 10))
                assert all(len(controls) == 1 for controls in by_report.values())  # MSH-10 kept
                assert by_report["informe 0"] <= first_sends  # the copy is the first send's
                assert conclusions(received).count("informe 0") >= 2  # it was sent again
    finally:
        his.stop()
