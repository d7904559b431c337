"""C-STORE ingest: pacsbridge beside Orthanc and dcmtk's storescp, all fed by dcmtk storescu.

The question a site asks before pointing its modalities at pacsbridge: does it take images
in as fast as the archive it would replace? The same synthetic objects (pydicom's
CT_small, ~39 KB, and a 512x512 16-bit CT upscaled from it, ~530 KB; fresh study, series
and instance UIDs, ``--studies`` studies of one series each) are sent with ``storescu``
(one association per sender, ``TCP_NODELAY=1``) to each server, started fresh and empty
for every run and measured alone:

- pacsbridge on SQLite (its defaults: WAL, synchronous=FULL, files fsynced) and on
  PostgreSQL (a database created for the run, dropped after);
- Orthanc 1.10 as shipped (SQLite index, ``SyncStorageArea``: files fsynced);
- ``storescp`` writing files only, without fsync and without an index: the floor, what
  storescu and the loopback cost.

After each run the stored instances are counted (pacsbridge's ``dicom_instance`` rows,
Orthanc's ``/statistics``, storescp's files); a run that lost one is reported as invalid.
Rounds alternate the servers (A/B/C/D, A/B/C/D) and the figures are the means. The ratio
pacsbridge / Orthanc in instances/s is printed first (goal: at least 1.0).

    python bench/dicom_store.py [--count 500] [--studies 10] [--rounds 2] [--senders 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from hl7_ingest import count, cpu_seconds, healthy, port_open, postgres_database, running, version
from orthanc import free_port, orthanc
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

BENCH = Path(__file__).resolve().parent
KINDS = ("pacsbridge-sqlite", "pacsbridge-postgresql", "orthanc", "storescp")
NODELAY = {**os.environ, "TCP_NODELAY": "1"}  # dcmtk 3.6.7 leaves Nagle on without it
# dcmtk's own tools by path: pynetdicom puts Python apps of the same names in the venv.
STORESCU, STORESCP = "/usr/bin/storescu", "/usr/bin/storescp"


def make_objects(folder: Path, size: str, count: int, studies: int) -> list[Path]:
    """``count`` files of one size in ``studies`` studies (one series each), fresh UIDs."""
    ds = dcmread(get_testdata_file("CT_small.dcm"))
    if size == "large":  # 128x128 -> 512x512: each pixel repeated 4x4, same value range
        pixels = np.frombuffer(ds.PixelData, dtype="<i2").reshape(128, 128)
        ds.Rows, ds.Columns = 512, 512
        ds.PixelData = np.kron(pixels, np.ones((4, 4), dtype="<i2")).astype("<i2").tobytes()
    folder.mkdir(parents=True)
    files = []
    per_study = -(-count // studies)
    for n in range(count):
        study, number = divmod(n, per_study)
        if number == 0:
            ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
            ds.PatientID, ds.PatientName = f"BENCH{study:04d}", f"BENCH^{size.upper()}{study}"
            ds.AccessionNumber, ds.StudyID, ds.SeriesNumber = f"ACC{size[0]}{study:05d}", "1", 1
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = number + 1
        path = folder / f"{n:06d}.dcm"
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
    return files


@dataclass
class Target:
    """A running server: where storescu sends, its pid, and how to count what it kept."""

    kind: str
    port: int
    ae_title: str
    pid: int
    count: Callable[[], int]
    http_port: int = 0  # pacsbridge's HTTP face, Orthanc's REST API; 0 for storescp


def count_rows(url: str) -> int:
    """Instances pacsbridge indexed: the proof that each acknowledged C-STORE was kept."""
    return count(url, "SELECT count(*) FROM dicom_instance")


@contextmanager
def database(kind: str, data: Path, tag: str, url: str | None = None) -> Iterator[str]:
    if url:
        yield url
        return
    if kind == "pacsbridge-sqlite":
        yield f"sqlite:///{data / 'pacsbridge.db'}"
        return
    with postgres_database(f"pb_dicom_store_{os.getpid()}_{tag}") as url:
        yield url


def wait_for(ready: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError("the DICOM port did not open")
        time.sleep(0.05)


@contextmanager
def start(kind: str, work: Path, tag: str, url: str | None = None) -> Iterator[Target]:
    """``kind`` started on its store in ``work`` (empty the first time); stopped on leaving.

    pacsbridge on PostgreSQL uses ``url``, or a database of its own for this start only.
    """
    work.mkdir(parents=True, exist_ok=True)
    dicom = free_port()
    if kind == "orthanc":
        with orthanc(work / "orthanc", dicom_port=dicom) as server:
            wait_for(port_open(dicom))
            count = lambda: server.statistics()["CountInstances"]  # noqa: E731
            yield Target(kind, dicom, server.ae_title, server.pid(), count, server.http_port)
        return
    if kind == "storescp":
        out = work / "storescp"
        out.mkdir(exist_ok=True)
        command = [STORESCP, "-aet", "STORESCP", "-od", str(out), str(dicom)]
        with running(command, port_open(dicom), work / "storescp.log", NODELAY) as pid:
            yield Target(kind, dicom, "STORESCP", pid, lambda: sum(1 for _ in out.iterdir()))
        return
    data = work / "pacsbridge"
    with database(kind, data, tag, url) as url:
        http = free_port()
        command = [sys.executable, "-m", "pacsbridge", "serve", "--data-dir", str(data),
                   "--database-url", url, "--host", "127.0.0.1", "--http-port", str(http),
                   "--mllp-port", str(free_port()), "--dicom-port", str(dicom),
                   "--log-level", "warning"]  # fmt: skip
        with running(command, healthy(http), work / f"{kind}.log") as pid:
            wait_for(port_open(dicom))
            yield Target(kind, dicom, "PACSBRIDGE", pid, lambda: count_rows(url), http)


def send(target: Target, files: list[Path], senders: int, log: Path,
         per_instance: bool = False) -> float:  # fmt: skip
    """Seconds for ``senders`` storescu processes (one association each) to send ``files``;
    with ``per_instance``, each sender runs storescu once per file (one association each,
    as some modalities do)."""
    shares = [files[i::senders] for i in range(senders)]

    def command(paths: list[Path]) -> list[str]:
        return [STORESCU, "-aet", "BENCHSCU", "-aec", target.ae_title, "--no-halt",
                "127.0.0.1", str(target.port), *map(str, paths)]  # fmt: skip

    with log.open("ab") as out:

        def one_by_one(share: list[Path]) -> int:
            runs = [subprocess.run(command([path]), stdout=out, stderr=subprocess.STDOUT,
                                   env=NODELAY).returncode for path in share]  # fmt: skip
            return max(runs, default=0)

        started = time.perf_counter()
        if per_instance:
            with ThreadPoolExecutor(senders) as pool:
                codes = list(pool.map(one_by_one, shares))
        else:
            processes = [subprocess.Popen(command(share), stdout=out, stderr=subprocess.STDOUT,
                                          env=NODELAY) for share in shares]  # fmt: skip
            codes = [p.wait() for p in processes]
        elapsed = time.perf_counter() - started
    if any(codes):
        print(f"  storescu exit codes {codes}, see {log}", file=sys.stderr)
    return elapsed


@dataclass
class Run:
    kind: str
    size: str
    seconds: float
    sent: int
    stored: int
    megabytes: float
    cpu_ms: float  # server process CPU per instance (PostgreSQL's backends not included)

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    @property
    def valid(self) -> bool:
        return self.stored == self.sent


def measure(kind: str, size: str, files: list[Path], args: argparse.Namespace, tag: str) -> Run:
    megabytes = sum(f.stat().st_size for f in files) / 1e6
    with tempfile.TemporaryDirectory(prefix=f"dicom-store-{kind}-", dir=args.tmp) as tmp:
        work = Path(tmp)
        with start(kind, work, tag) as target:
            before = cpu_seconds(target.pid)
            seconds = send(target, files, args.senders, work / "storescu.log",
                           args.association_per_instance)  # fmt: skip
            cpu = cpu_seconds(target.pid) - before
            stored = target.count()
            if stored != len(files):
                print((work / "storescu.log").read_text(errors="replace")[-1500:])
    return Run(kind, size, seconds, len(files), stored, megabytes, cpu / len(files) * 1000)


def mean(runs: list[Run], attribute: str) -> float:
    return statistics.fmean(getattr(r, attribute) for r in runs)


def report(runs: list[Run], args: argparse.Namespace, kinds: list[str], load: str) -> str:
    sizes = [s for s in ("small", "large") if any(r.size == s for r in runs)]

    def of(kind: str, size: str) -> list[Run]:
        return [r for r in runs if r.kind == kind and r.size == size]

    per_instance = args.association_per_instance
    mode = ", one association per instance" if per_instance else ""
    flag = " --association-per-instance" if per_instance else ""
    lines = ["# C-STORE ingest: pacsbridge vs Orthanc vs storescp (storescu sender)\n",
             f"{datetime.now():%Y-%m-%d %H:%M}, {version(None)}, {os.cpu_count()} cores, load "
             f"average (1 min) {load}; {args.count} instances per size in {args.studies} "
             f"studies, {args.senders} storescu sender(s), {args.rounds} round(s){mode}; "
             f"`python bench/dicom_store.py --count {args.count} --studies {args.studies} "
             f"--senders {args.senders} --rounds {args.rounds}{flag}`\n",
             "Ratio pacsbridge / Orthanc in instances/s (goal: ≥ 1.0):\n",
             "| database | " + " | ".join(sizes) + " |",
             "|---" * (len(sizes) + 1) + "|"]  # fmt: skip
    if "orthanc" in kinds:
        for kind in (k for k in kinds if k.startswith("pacsbridge")):
            cells = [f"**{mean(of(kind, s), 'rate') / mean(of('orthanc', s), 'rate'):.2f}**"
                     for s in sizes]  # fmt: skip
            lines.append(f"| {kind.removeprefix('pacsbridge-')} | " + " | ".join(cells) + " |")
    head = ["server", "size", "instances/s", "MB/s", "per-round instances/s",
            "server CPU ms/instance", "stored / sent"]  # fmt: skip
    lines += ["", "| " + " | ".join(head) + " |", "|---" * len(head) + "|"]
    for size in sizes:
        for kind in kinds:
            done = of(kind, size)
            if not done:
                continue
            rates = ", ".join(f"{r.rate:,.0f}" for r in done)
            stored = ", ".join(f"{r.stored}/{r.sent}" for r in done)
            mbs = statistics.fmean(r.megabytes / r.seconds for r in done)
            ok = "" if all(r.valid for r in done) else " **INVALID**"
            lines.append(f"| {kind} | {size} | {mean(done, 'rate'):,.0f} | {mbs:.1f} | {rates} | "
                         f"{mean(done, 'cpu_ms'):.2f} | {stored}{ok} |")  # fmt: skip
    lines += ["", "Server CPU is the server process's own (for PostgreSQL, not the backends'); "
              "storescp writes without fsync or index, so it is a floor, not a peer."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="instances per size")
    parser.add_argument("--studies", type=int, default=10)
    parser.add_argument("--sizes", default="small,large")
    parser.add_argument("--servers", default=",".join(KINDS))
    parser.add_argument("--senders", type=int, default=1, help="parallel storescu processes")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--association-per-instance", action="store_true",
                        help="one storescu run (one association) per file")  # fmt: skip
    parser.add_argument("--tmp", default=None, help="folder for objects and server data")
    parser.add_argument("--output", type=Path, default=BENCH / "results" / "dicom_store.md")
    args = parser.parse_args()
    kinds = [k for k in KINDS if k in args.servers.split(",")]
    if not (Path(STORESCU).exists() and Path(STORESCP).exists()):
        sys.exit("dcmtk is needed: apt-get install -y dcmtk")
    start_load = os.getloadavg()[0]
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="dicom-store-objects-", dir=args.tmp) as tmp:
        objects = {size: make_objects(Path(tmp) / size, size, args.count, args.studies)
                   for size in args.sizes.split(",")}  # fmt: skip
        for round_ in range(args.rounds):
            for size, files in objects.items():
                for kind in kinds:
                    run = measure(kind, size, files, args, f"{round_}_{size}")
                    runs.append(run)
                    print(f"round {round_ + 1} {size:>5} {kind:>21}: {run.rate:8,.1f} inst/s "
                          f"{run.megabytes / run.seconds:6.1f} MB/s  cpu {run.cpu_ms:.2f} ms/inst"
                          f"  stored {run.stored}/{run.sent}", flush=True)  # fmt: skip
    text = report(runs, args, kinds, f"{start_load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print("\n" + text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
