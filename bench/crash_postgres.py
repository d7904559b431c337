"""PostgreSQL restarted under MLLP load: messages are refused or held, never ACKed and lost.

The long version of tests/hl7v2/test_postgres_restart.py (which restarts a private cluster
of its own in CI). This one restarts the machine's cluster: run it on its own. Eight
HIS-like senders (tests/hl7v2/test_crash_under_load.py) resend every message until it is
AA while ``pg_ctlcluster … restart`` runs ``--restarts`` times; then every order that was
acknowledged must exist exactly once as a ServiceRequest and as a worklist row.

    python bench/crash_postgres.py [--restarts 3] [--per-sender 250]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import _drop_postgres_database, _postgres_database, free_port  # noqa: E402
from tests.hl7v2 import test_crash_under_load as load  # noqa: E402
from tests.processes import serving  # noqa: E402


def restart_postgres() -> float:
    version = next(Path("/etc/postgresql").iterdir()).name
    started = time.monotonic()
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True)  # fmt: skip
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--restarts", type=int, default=3)
    parser.add_argument("--per-sender", type=int, default=250)
    args = parser.parse_args()
    load.PER_SENDER = args.per_sender
    unique = uuid.uuid4().hex[:8]
    name = f"pacsbridge_crash_{unique}"
    url = _postgres_database(name)
    acked: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as data:
            http, mllp = free_port(), free_port()
            with serving(url, Path(data), http, mllp_port=mllp):
                give_up = time.monotonic() + 600
                senders = [threading.Thread(target=load.send_until_acked, daemon=True,
                                            args=(mllp, load.orders_of(n, unique), acked,
                                                  give_up))
                           for n in range(load.SENDERS)]  # fmt: skip
                for thread in senders:
                    thread.start()
                for _ in range(args.restarts):
                    time.sleep(random.uniform(0.5, 2.0))
                    before = len(acked)
                    took = restart_postgres()
                    print(f"PostgreSQL restarted in {took:.1f} s with {before} of "
                          f"{load.SENDERS * args.per_sender} acknowledged", flush=True)  # fmt: skip
                for thread in senders:
                    thread.join(max(1.0, give_up - time.monotonic()))
                total = load.SENDERS * args.per_sender
                print(f"{len(acked)} of {total} acknowledged in the end")
                base = f"http://127.0.0.1:{http}/fhir/R4"
                missing, wrong_rows = load.not_stored_once(base, url, acked)
        print(f"acknowledged but not stored exactly once: {len(missing)} ServiceRequests, "
              f"{len(wrong_rows)} worklist rows")  # fmt: skip
        return 0 if len(acked) == total and not missing and not wrong_rows else 1
    finally:
        _drop_postgres_database(name)


if __name__ == "__main__":
    sys.exit(main())
