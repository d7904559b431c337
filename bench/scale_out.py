"""Scale-out on PostgreSQL: HL7 ingest by one `pacsbridge serve` process, then by two.

Both processes share one PostgreSQL database (as docs/deployment.md describes); eight
HIS-like senders (one ORM^O01 at a time, the next after the AA) are split evenly over the
processes' MLLP ports, as a TCP load balancer would spread connections. Messages of the two
halves name the same 300 patients, so the processes create and update the same Patients at
the same moments. Reported: total ACKs per second, p99, and what the database holds after
each run (an AA row per AA sent, one Patient per patient ID, one ServiceRequest and
worklist row per AA'd order). On this 2-core machine the second process competes with the
first and with PostgreSQL for the same CPUs: the figure shows the coordination's cost
more than a real second machine's gain.

    python bench/scale_out.py [--seconds 10] [--senders 8] [--processes 1,2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from hl7_ingest import (  # noqa: E402
    count,
    cpu_seconds,
    free_port,
    healthy,
    postgres_database,
    running,
    stored_aa,
    version,
)


def serve(url: str, data: Path, work: Path, index: int, stack: ExitStack) -> tuple[int, int]:
    mllp, http = free_port(), free_port()
    command = [sys.executable, "-m", "pacsbridge", "serve", "--data-dir", str(data),
               "--database-url", url, "--host", "127.0.0.1", "--mllp-port", str(mllp),
               "--http-port", str(http), "--dicom-port", str(free_port()),
               "--log-level", "warning"]  # fmt: skip
    pid = stack.enter_context(running(command, healthy(http), work / f"serve-{index}.log"))
    return mllp, pid


def one_run(processes: int, args: argparse.Namespace, work: Path) -> dict:
    name = f"pb_scale_out_{os.getpid()}_{processes}"
    with postgres_database(name) as url, ExitStack() as stack:
        servers = [serve(url, work / f"data-{processes}", work, i, stack)
                   for i in range(processes)]  # fmt: skip
        before = sum(cpu_seconds(pid) for _, pid in servers)
        share = args.senders // processes
        loads = [subprocess.Popen(
            [sys.executable, str(BENCH / "hl7_ingest.py"), "--load-port", str(port),
             "--senders", str(share), "--seconds", str(args.seconds), "--warmup",
             str(args.warmup), "--prefix", f"S{processes}{i}"],
            stdout=subprocess.PIPE, text=True) for i, (port, _) in enumerate(servers)]  # fmt: skip
        results = [json.loads(load.communicate()[0]) for load in loads]
        cpu = sum(cpu_seconds(pid) for _, pid in servers) - before
        acked = sum(r["acked"] for r in results)
        patients = count(url, "SELECT count(*) FROM resource WHERE res_type = 'Patient'")
        distinct = count(url, "SELECT count(DISTINCT value) FROM (SELECT substr(raw, "
                         "position('PID|1||' in raw) + 7, 8) AS value FROM (SELECT "
                         "convert_from(raw, 'LATIN1') AS raw FROM hl7_message "
                         "WHERE outcome = 'AA') m) v")  # fmt: skip
        orders = count(url, "SELECT count(*) FROM resource WHERE res_type = 'ServiceRequest'")
        worklist = count(url, "SELECT count(*) FROM worklist_item")
        return {
            "processes": processes,
            "rate": sum(r["rate"] for r in results),
            "p50": max(r["p50"] for r in results),
            "p99": max(r["p99"] for r in results),
            "failures": sum(r["failures"] for r in results),
            "acked": acked,
            "stored": stored_aa(url),
            "patients": patients,
            "patient_ids": distinct,
            "orders": orders,
            "worklist": worklist,
            "cpu_us": cpu / max(acked, 1) * 1e6,
        }


def report(runs: list[dict], args: argparse.Namespace, load: str) -> str:
    first = runs[0]["rate"]
    lines = [
        "# Scale-out: HL7 ingest by several processes on one PostgreSQL\n",
        f"{datetime.now():%Y-%m-%d %H:%M}, {version(None)}, {os.cpu_count()} cores, load "
        f"average {load}; {args.senders} senders, {args.seconds:g} s measured; "
        f"`python bench/scale_out.py --seconds {args.seconds:g}`\n",
        "Throughput ratio of N processes to one: "
        + ", ".join(f"{r['processes']}: **{r['rate'] / first:.2f}×**" for r in runs) + "\n",
        "| processes | msg/s | p50 ms | p99 ms | failures | AA sent / AA rows "
        "| Patients / patient IDs | orders / worklist rows | servers' CPU µs/msg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in runs:
        lines.append(
            f"| {r['processes']} | {r['rate']:,.0f} | {r['p50']:.1f} | {r['p99']:.1f} "
            f"| {r['failures']} | {r['acked']} / {r['stored']} "
            f"| {r['patients']} / {r['patient_ids']} | {r['orders']} / {r['worklist']} "
            f"| {r['cpu_us']:,.0f} |"
        )  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "scale_out.md")
    args = parser.parse_args()
    start_load = os.getloadavg()[0]
    runs = []
    with tempfile.TemporaryDirectory(prefix="scale-out-") as tmp:
        for processes in (int(p) for p in args.processes.split(",")):
            runs.append(one_run(processes, args, Path(tmp)))
            print(runs[-1], flush=True)
    text = report(runs, args, f"{start_load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print("\n" + text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    ok = all(r["acked"] == r["stored"] and r["patients"] == r["patient_ids"] for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
