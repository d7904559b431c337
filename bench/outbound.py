"""Outbound HL7 throughput and report-to-ACK delay, against a bare MLLP client.

The receiver is python-hl7's asyncio server (``hl7_baseline_server.py``: parse, ACK AA),
alone in its own process. Two senders deliver the same number of ORU^R01 to it:

- pacsbridge: reports are written through FHIR while the destination is paused, then it
  is resumed and the outbox drained by the real senders (claim, send, wait for the ACK,
  record) — with all reports for 1 patient (one message in flight at a time) and spread
  over 100 patients (up to ``connections`` in flight).
- baseline: a bare Python MLLP client sending pre-built messages over the same number of
  kept-open connections (1, or ``connections``), each waiting for its ACK: the transport
  floor, with no database at all.

Then the delay from "report written final" to "ACK received" (outbox ``created_at`` to
``finished_at``) at a steady 20 reports/s, p50 and p99.

    python bench/outbound.py [--messages 2000] [--database sqlite|postgresql]

PostgreSQL runs use a database ``pacsbridge_outbound_bench`` created for the run and dropped
after (trust auth on 127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from hl7_ingest import postgres_database
from servers import free_port

from pacsbridge.store import open_database, outbox

BENCH = Path(__file__).resolve().parent
CONNECTIONS = 4


@contextmanager
def process(command: list[str], probe: str | None = None, port: int | None = None) -> Iterator[
        subprocess.Popen[bytes]]:  # fmt: skip
    started = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert started.poll() is None, f"{command[2]} exited"
            try:
                if probe and httpx.get(probe, timeout=2).status_code == 200:
                    break
                if port is not None:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
            except (httpx.TransportError, OSError):
                pass
            assert time.monotonic() < deadline, f"{command} did not start"
            time.sleep(0.2)
        yield started
    finally:
        started.terminate()
        started.wait(15)


def post_reports(base: str, patients: list[str], count: int) -> None:
    with httpx.Client(base_url=f"{base}/fhir/R4", timeout=60) as client:
        for n in range(count):
            body = {"resourceType": "DiagnosticReport", "status": "final",
                    "code": {"text": "CT"}, "subject": {"reference": patients[n % len(patients)]},
                    "conclusion": f"Informe {n}: sin hallazgos significativos."}  # fmt: skip
            assert client.post("/DiagnosticReport", json=body).status_code == 201


def new_patients(base: str, count: int) -> list[str]:
    with httpx.Client(base_url=f"{base}/fhir/R4", timeout=60) as client:
        refs = []
        for n in range(count):
            body = {
                "resourceType": "Patient",
                "name": [{"family": f"Bench{n}"}],
                "identifier": [{"system": "urn:pacsbridge:id:HIS", "value": f"B{n}"}],
            }
            refs.append("Patient/" + client.post("/Patient", json=body).json()["id"])
        return refs


def open_rows(database: Any, destination: str) -> list[outbox.OutboxEntry]:
    with database.reader.connect() as connection:
        return outbox.list_entries(connection, destination=destination, limit=1_000_000)


def drain(base: str, database: Any, destination: str, expected: int) -> float:
    """Resume the destination; seconds until every message is sent."""
    started = time.perf_counter()
    httpx.post(f"{base}/api/destinations/{destination}/resume")
    while True:
        rows = open_rows(database, destination)
        if sum(1 for r in rows if r.status == "sent") >= expected:
            return time.perf_counter() - started
        assert not [r for r in rows if r.status == "dead"], "dead letters in a bench run"
        time.sleep(0.05)


async def bare_client(port: int, payloads: list[bytes], connections: int) -> float:
    """The baseline: kept-open connections, each one message at a time, ACK awaited."""
    from pacsbridge.formats.hl7v2.mllp import MllpFramer, frame

    async def one(share: list[bytes]) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        framer = MllpFramer()
        for payload in share:
            writer.write(frame(payload))
            await writer.drain()
            while not framer.feed(await reader.read(65536)):
                pass
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(payloads[i::connections]) for i in range(connections)))
    return time.perf_counter() - started


def run(args: argparse.Namespace) -> str:
    if args.database == "sqlite":
        work = Path(tempfile.mkdtemp(prefix="pb-outbound-"))
        return measure(args, work, f"sqlite:///{work / 'pacsbridge.db'}")
    with postgres_database("pacsbridge_outbound_bench") as url:  # fresh, dropped after
        return measure(args, Path(tempfile.mkdtemp(prefix="pb-outbound-")), url)


def measure(args: argparse.Namespace, work: Path, url: str) -> str:
    his_port, http_port = free_port(), free_port()
    config = work / "pacsbridge.toml"
    config.write_text(f'[[destinations]]\nname = "HIS"\nhost = "127.0.0.1"\nport = {his_port}\n'
                      f"connections = {CONNECTIONS}\n")  # fmt: skip
    base = f"http://127.0.0.1:{http_port}"
    receiver = [sys.executable, str(BENCH / "hl7_baseline_server.py"), "--port", str(his_port)]
    server = [sys.executable, "-m", "pacsbridge", "serve", "--config", str(config),
              "--data-dir", str(work), "--database-url", url, "--host", "127.0.0.1",
              "--http-port", str(http_port), "--mllp-port", str(free_port()),
              "--dicom-port", str(free_port()), "--log-level", "warning"]  # fmt: skip
    results: dict[str, float] = {}
    with process(receiver, port=his_port), process(server, probe=f"{base}/healthz"):
        database = open_database(url)
        patients = new_patients(base, 100)
        done = 0
        for label, chosen in (("1 patient", patients[:1]), ("100 patients", patients)):
            httpx.post(f"{base}/api/destinations/HIS/pause")
            post_reports(base, chosen, args.messages)
            done += args.messages
            seconds = drain(base, database, "HIS", done)
            results[f"pacsbridge {label}"] = args.messages / seconds
        payloads = [r.payload for r in open_rows(database, "HIS")[: args.messages]]
        for label, connections in (("1 patient", 1), ("100 patients", CONNECTIONS)):
            seconds = asyncio.run(bare_client(his_port, payloads, connections))
            results[f"baseline {label}"] = len(payloads) / seconds
        before = {r.pk for r in open_rows(database, "HIS")}
        for n in range(args.latency_reports):
            post_reports(base, [patients[n % 100]], 1)
            time.sleep(1 / 20)
        time.sleep(2)
        fresh = [r for r in open_rows(database, "HIS") if r.pk not in before]
        delays = sorted((r.finished_at - r.created_at).total_seconds() * 1000 for r in fresh
                        if r.finished_at)  # fmt: skip
        database.dispose()
    p50 = statistics.median(delays)
    p99 = delays[max(0, int(len(delays) * 0.99) - 1)]
    lines = [
        f"outbound ORU^R01 to python-hl7's server, {args.database}, {args.messages} messages",
        "",
        "| sender | 1 patient (msg/s) | 100 patients (msg/s) |",
        "| --- | --- | --- |",
    ]
    for who in ("pacsbridge", "baseline"):
        lines.append(f"| {who} | {results[f'{who} 1 patient']:.0f} | "
                     f"{results[f'{who} 100 patients']:.0f} |")  # fmt: skip
    ratio_1 = results["pacsbridge 1 patient"] / results["baseline 1 patient"]
    ratio_100 = results["pacsbridge 100 patients"] / results["baseline 100 patients"]
    lines[0:0] = [f"ratio pacsbridge/bare client: 1 patient {ratio_1:.2f}, "
                  f"100 patients {ratio_100:.2f}; report final → ACK p50 {p50:.1f} ms, "
                  f"p99 {p99:.1f} ms ({len(delays)} reports at 20/s)", ""]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--latency-reports", type=int, default=200)
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    print(run(parser.parse_args()))


if __name__ == "__main__":
    main()
