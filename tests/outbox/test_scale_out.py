"""Two ``pacsbridge serve`` processes on one database: every message leaves once, in order.

Reports for four patients are written alternately through one process and the other; both
send the outbox to the same HIS. The senders coordinate through the database only (the
claim is a conditional UPDATE, one message in flight per patient and destination), so
the HIS must get each report exactly once and each patient's in the order written.
"""

from __future__ import annotations

import time
from collections import Counter

from tests.conftest import free_port
from tests.outbox.his import HisSimulator, ack_for
from tests.outbox.test_delivery import conclusions, new_patient, post_report, wait_until
from tests.processes import serving

REPORTS_PER_PATIENT = 6


def test_two_processes_send_every_message_once_and_in_order(database_url, tmp_path, unique):
    def slow_aa(message: bytes) -> list[bytes]:
        time.sleep(0.02)  # a HIS that takes its time: claims overlap between processes
        return [ack_for(message)]

    his = HisSimulator(behaviour=slow_aa).start()
    config = tmp_path / "pacsbridge.toml"
    config.write_text(f"""
[[destinations]]
name = "HIS_{unique}"
host = "127.0.0.1"
port = {his.port}
connections = 2
""")
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        with serving(database_url, tmp_path / "data", ports[0], config=config), \
                serving(database_url, tmp_path / "data", ports[1], config=config):  # fmt: skip
            patients = [new_patient(bases[n % 2], unique, suffix) for n, suffix in
                        enumerate("ABCD")]  # fmt: skip
            written = 0
            for n in range(REPORTS_PER_PATIENT):
                for patient_id, _ in patients:
                    post_report(bases[written % 2], patient_id, f"informe {n}")
                    written += 1
            total = REPORTS_PER_PATIENT * len(patients)
            arrived = wait_until(lambda: len(his.received) >= total, seconds=60)
            assert arrived, f"{len(his.received)} of {total} reports arrived"
            time.sleep(1)  # anything sent twice would arrive by now
        controls = Counter(r.field("MSH", 10) for r in his.received)
        assert len(his.received) == total and max(controls.values()) == 1
        expected = [f"informe {n}" for n in range(REPORTS_PER_PATIENT)]
        for _, mrn in patients:
            assert conclusions(his.of_patient(mrn)) == expected, mrn
    finally:
        his.stop()
