"""WADO-RS series metadata: pacsbridge's pre-computed JSON against Orthanc's DICOMweb plug-in.

A viewer (OHIF) opens a series by asking for its metadata first, and draws nothing until
the answer is in; for a 500-slice CT that answer is the wait the radiologist sees.
pacsbridge computes each instance's DICOM JSON at receipt and joins the stored texts;
Orthanc's plug-in builds it at request time (``SeriesMetadata`` left at its default,
"Full": every tag, read from the stored files). One series of ``--instances`` (500) CT
instances (pydicom's CT_small with fresh UIDs) is stored into both with storescu, then
``GET {root}/studies/{s}/series/{se}/metadata`` is timed on each server while it runs
alone, rounds alternating (pacsbridge, Orthanc, pacsbridge, Orthanc; each restarted on its
stored data, warmed up first): sequential requests on one kept-alive httpx connection,
and with ``--wrk-seconds`` also wrk with a few connections. Every answer checked must
hold all instances. The speed-up Orthanc p50 / pacsbridge p50 is printed first (goal:
at least 10x).

    python bench/series_metadata.py [--instances 500] [--requests 50] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import orjson
from dicom_store import Target, make_objects, send, start
from hl7_ingest import postgres_database, version
from pydicom import dcmread

BENCH = Path(__file__).resolve().parent
NAMES = {"pacsbridge": "pacsbridge", "orthanc": "Orthanc"}


@dataclass
class Timing:
    """One server's figures over the rounds."""

    seconds: list[float] = field(default_factory=list)  # every sequential request
    rounds_p50: list[float] = field(default_factory=list)
    bytes: int = 0
    instances: set[int] = field(default_factory=set)  # instances per checked answer
    ingest: list[float] = field(default_factory=list)  # instances/s storing the series
    wrk: list[dict[str, float]] = field(default_factory=list)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@contextmanager
def server(name: str, work: Path, url: str | None) -> Iterator[tuple[Target, str]]:
    """The server on its data in ``work`` and the base URL of its DICOMweb root."""
    kind = {"orthanc": "orthanc", "pacsbridge": "pacsbridge-sqlite"}[name]
    if name == "pacsbridge" and url:
        kind = "pacsbridge-postgresql"
    root = "/dicom-web" if name == "orthanc" else "/dicomweb"
    with start(kind, work / name, "series", url) as target:
        yield target, f"http://127.0.0.1:{target.http_port}{root}"


def check(body: bytes, wanted: int) -> int:
    """Instances in a metadata answer; each must be a distinct SOP Instance UID."""
    items = orjson.loads(body)
    uids = {item["00080018"]["Value"][0] for item in items}
    if len(items) != wanted or len(uids) != wanted:
        raise SystemExit(f"metadata answer holds {len(items)} items ({len(uids)} UIDs), "
                         f"not {wanted}")  # fmt: skip
    return len(items)


def sequential(url: str, headers: dict[str, str], args: argparse.Namespace,
               timing: Timing) -> None:  # fmt: skip
    """Warm-up, then ``--requests`` timed GETs one after the other on one connection."""
    with httpx.Client(timeout=120, headers=headers) as client:
        size = 0
        for n in range(max(args.warmup, 1)):
            answer = client.get(url)
            answer.raise_for_status()
            if n == 0:
                timing.instances.add(check(answer.content, args.instances))
                size = len(answer.content)
        times = []
        for _ in range(args.requests):
            started = time.perf_counter()
            answer = client.get(url)
            times.append(time.perf_counter() - started)
            if answer.status_code != 200 or len(answer.content) != size:  # same as checked
                raise SystemExit(f"{url}: {answer.status_code} {answer.text[:300]}")
        timing.instances.add(check(answer.content, args.instances))
        timing.bytes = len(answer.content)
    timing.seconds += times
    timing.rounds_p50.append(statistics.median(times))


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def wrk(url: str, headers: dict[str, str], args: argparse.Namespace) -> dict[str, float]:
    """wrk's requests/s and p50/p99 (ms) with ``--connections`` connections, 1 thread."""
    command = ["wrk", "-t1", f"-c{args.connections}", f"-d{args.wrk_seconds}s", "--latency",
               "--timeout", "60s", *(x for k, v in headers.items() for x in ("-H", f"{k}: {v}")),
               url]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    found: dict[str, float] = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 2 and words[0] in ("50%", "99%"):
            value = re.fullmatch(r"([\d.]+)(us|ms|s|m)", words[1])
            if value:
                found["p" + words[0][:2]] = float(value[1]) * _UNITS[value[2]]
        elif line.startswith("Requests/sec:"):
            found["rps"] = float(words[1])
    if len(found) != 3 or "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk: errors or output not understood:\n{out}")
    return found


def report(timings: dict[str, Timing], args: argparse.Namespace, load: str) -> str:
    ours, theirs = timings["pacsbridge"], timings["orthanc"]
    p50 = {n: statistics.median(t.seconds) * 1000 for n, t in timings.items()}
    lines = ["# WADO-RS series metadata: pacsbridge vs Orthanc DICOMweb\n",
             f"{datetime.now():%Y-%m-%d %H:%M}, {version(None)}, {os.cpu_count()} cores, load "
             f"average (1 min) {load}; one series of {args.instances} CT_small instances, "
             f"pacsbridge on {args.database}, Orthanc 1.10 + DICOMweb plug-in with "
             f"SeriesMetadata \"Full\" (its default); {args.requests} sequential requests after "
             f"{args.warmup} warm-up per round, {args.rounds} rounds, Accept-Encoding: "
             f"{args.accept_encoding}\n",
             "| goal | measured | met |", "|---|---|---|",
             f"| pacsbridge ≥ 10x faster (p50) | **{p50['orthanc'] / p50['pacsbridge']:.1f}x** "
             f"({p50['pacsbridge']:.1f} vs {p50['orthanc']:.1f} ms) | "
             f"{'yes' if p50['orthanc'] / p50['pacsbridge'] >= 10 else 'no'} |"]  # fmt: skip
    if ours.wrk and theirs.wrk:
        ratio = statistics.fmean(w["rps"] for w in ours.wrk) / statistics.fmean(
            w["rps"] for w in theirs.wrk
        )
        lines.append(f"| throughput with wrk -c{args.connections} | **{ratio:.1f}x** | |")
    head = ["server", "p50 ms", "p99 ms", "requests/s (sequential)", "p50 per round ms",
            "answer bytes", "instances per answer", "storing the series, instances/s"]  # fmt: skip
    lines += ["", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for name, t in timings.items():
        rounds = ", ".join(f"{x * 1000:.1f}" for x in t.rounds_p50)
        cells = [NAMES[name], f"{p50[name]:.1f}", f"{percentile(t.seconds, 0.99) * 1000:.1f}",
                 f"{len(t.seconds) / sum(t.seconds):,.1f}", rounds, f"{t.bytes:,}",
                 "/".join(map(str, sorted(t.instances))),
                 ", ".join(f"{x:,.0f}" for x in t.ingest)]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    if ours.wrk and theirs.wrk:
        lines += ["", f"wrk -t1 -c{args.connections} -d{args.wrk_seconds}s, per round:", "",
                  "| server | requests/s | p50 ms | p99 ms |", "|---|---|---|---|"]  # fmt: skip
        for name, t in timings.items():
            for w in t.wrk:
                lines.append(f"| {NAMES[name]} | {w['rps']:,.1f} | {w['p50']:.1f} | "
                             f"{w['p99']:.1f} |")  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=500)
    parser.add_argument("--requests", type=int, default=50, help="timed, per server and round")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--wrk-seconds", type=int, default=0, help="also run wrk (0: no)")
    parser.add_argument("--connections", type=int, default=4, help="wrk connections")
    parser.add_argument(
        "--accept-encoding",
        default="identity",
        help="identity (default: neither compresses) or gzip (as browsers)",
    )
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "series_metadata.md")
    args = parser.parse_args()
    if args.wrk_seconds and shutil.which("wrk") is None:
        sys.exit("wrk is needed for --wrk-seconds: apt-get install -y wrk")
    headers = {"Accept": "application/dicom+json", "Accept-Encoding": args.accept_encoding}
    start_load = os.getloadavg()[0]
    timings = {name: Timing() for name in NAMES}
    pg = (postgres_database(f"pb_series_metadata_{os.getpid()}") if args.database == "postgresql"
          else nullcontext(None))  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="series-metadata-") as tmp, pg as url:
        work = Path(tmp)
        files = make_objects(work / "objects", "small", args.instances, 1)
        first = dcmread(files[0], stop_before_pixels=True)
        path = f"/studies/{first.StudyInstanceUID}/series/{first.SeriesInstanceUID}/metadata"
        for name in NAMES:  # store the series once into each
            with server(name, work, url) as (target, _root):
                seconds = send(target, files, 1, work / f"{name}-storescu.log")
                stored = target.count()
                if stored != len(files):
                    sys.exit(f"{name} stored {stored} of {len(files)} instances")
                timings[name].ingest.append(len(files) / seconds)
                print(f"stored {len(files)} into {name} at {len(files) / seconds:,.0f}/s")
        for round_ in range(args.rounds):
            for name in NAMES:
                with server(name, work, url) as (_target, root):
                    sequential(root + path, headers, args, timings[name])
                    if args.wrk_seconds:
                        timings[name].wrk.append(wrk(root + path, headers, args))
                print(
                    f"round {round_ + 1} {name:>10}: p50 "
                    f"{timings[name].rounds_p50[-1] * 1000:.1f} ms",
                    flush=True,
                )
    text = report(timings, args, f"{start_load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print("\n" + text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
