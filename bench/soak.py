"""Soak: every face at once for minutes; memory must stay flat and nothing may fail.

One ``pacsbridge serve`` process (SQLite in a fresh data dir, or ``--database-url``)
takes, at the same time: HL7 orders over MLLP (ORM^O01, each waiting for its AA),
worklist queries (C-FIND), images (C-STORE of a CT slice with new UIDs), FHIR reads and
searches, and DICOMweb searches and metadata retrievals of the studies stored. Each kind
counts its requests, errors and latencies; the server's resident memory is sampled every
5 s. The run fails (exit 1) on any error, or when memory in the last fifth of the run
stands more than 20 % above the second fifth (the first fifth warms caches).

    python bench/soak.py --seconds 600
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

import httpx
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, ModalityWorklistInformationFind

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pacsbridge.demo.orders import order  # noqa: E402
from pacsbridge.demo.scenario import PATIENTS, Scenario  # noqa: E402

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


class Kind:
    """One kind of request: its latencies and errors."""

    def __init__(self, name: str) -> None:
        self.name, self.seconds, self.errors, self.lock = name, [], [], threading.Lock()

    def timed(self, action: Callable[[], None]) -> None:
        started = time.perf_counter()
        try:
            action()
        except Exception as exc:  # counted, shown at the end
            with self.lock:
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        with self.lock:
            self.seconds.append(time.perf_counter() - started)

    def line(self) -> str:
        done = sorted(self.seconds)
        if not done:
            return f"| {self.name} | 0 | - | - | {len(self.errors)} |"
        p99 = done[min(len(done) - 1, int(len(done) * 0.99))]
        return (f"| {self.name} | {len(done):,} | {statistics.median(done) * 1000:.1f} | "
                f"{p99 * 1000:.1f} | {len(self.errors)} |")  # fmt: skip


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


class Soak:
    def __init__(self, http: int, mllp: int, dicom: int) -> None:
        self.http, self.mllp, self.dicom = http, mllp, dicom
        self.base = f"http://127.0.0.1:{http}"
        self.studies: list[str] = []
        self.patients: list[str] = []
        self.run = uuid.uuid4().hex[:6].upper()
        self.count = 0
        self.lock = threading.Lock()

    def next_number(self) -> int:
        with self.lock:
            self.count += 1
            return self.count

    def send_order(self, sock: socket.socket) -> None:
        n = self.next_number()
        family, given, sex, born = PATIENTS[n % len(PATIENTS)]
        scenario = Scenario(run=f"{self.run}{n:06d}", family=family, given=given, sex=sex,
                            birth_date=born)  # fmt: skip
        sock.sendall(VT + order(scenario) + FS + CR)
        data = b""
        while FS + CR not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed without an ACK")
            data += chunk
        if b"MSA|AA|" not in data:
            raise RuntimeError(f"not AA: {data[:200]!r}")
        with self.lock:
            self.patients.append(scenario.patient_id)

    def find(self, ae: AE) -> None:
        """What a modality asks at the patient's arrival: the steps of one patient, on CT."""
        query = Dataset()
        query.PatientName = ""
        query.PatientID = self.patients[-1] if self.patients else "NONE"
        query.AccessionNumber = ""
        step = Dataset()
        step.Modality = "CT"
        step.ScheduledProcedureStepStartDate = ""
        query.ScheduledProcedureStepSequence = [step]
        assoc = ae.associate("127.0.0.1", self.dicom, ae_title="PACSBRIDGE")
        if not assoc.is_established:
            raise ConnectionError("C-FIND association refused")
        try:
            for status, _ in assoc.send_c_find(query, ModalityWorklistInformationFind):
                if status is None or status.Status not in (0x0000, 0xFF00, 0xFF01):
                    raise RuntimeError(f"C-FIND status {status}")
        finally:
            assoc.release()

    def store(self, ae: AE, template: bytes) -> None:
        ds = dcmread(BytesIO(template))
        ds.PatientID = f"SOAK-{self.run}-{self.next_number() % 50}"
        ds.StudyInstanceUID = generate_uid()
        ds.SeriesInstanceUID = generate_uid()
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        assoc = ae.associate("127.0.0.1", self.dicom, ae_title="PACSBRIDGE")
        if not assoc.is_established:
            raise ConnectionError("C-STORE association refused")
        try:
            status = assoc.send_c_store(ds)
            if status is None or status.Status != 0x0000:
                raise RuntimeError(f"C-STORE status {status}")
        finally:
            assoc.release()
        with self.lock:
            self.studies.append(str(ds.StudyInstanceUID))


def run_soak(seconds: float, database_url: str | None) -> tuple[list[str], bool]:
    """The report lines, and whether the run passed."""
    http, mllp, dicom = free_port(), free_port(), free_port()
    data = tempfile.mkdtemp(prefix="soak-")
    command = [sys.executable, "-m", "pacsbridge", "serve", "--data-dir", data, "--host",
               "127.0.0.1", "--http-port", str(http), "--mllp-port", str(mllp),
               "--dicom-port", str(dicom), "--log-level", "warning"]  # fmt: skip
    if database_url:
        command += ["--database-url", database_url]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    soak = Soak(http, mllp, dicom)
    names = ("MLLP ORM^O01 → AA", "C-FIND worklist", "C-STORE image", "FHIR read",
             "FHIR search", "QIDO-RS", "WADO-RS metadata")  # fmt: skip
    kinds = {name: Kind(name) for name in names}
    memory: list[float] = []
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{soak.base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        deadline = time.monotonic() + seconds
        template = Path(get_testdata_file("CT_small.dcm")).read_bytes()

        def loop(action: Callable[[], None], pause: float = 0.0) -> None:
            while time.monotonic() < deadline:
                action()
                time.sleep(pause)

        def mllp_worker() -> None:
            with socket.create_connection(("127.0.0.1", mllp), timeout=30) as sock:
                loop(lambda: kinds["MLLP ORM^O01 → AA"].timed(lambda: soak.send_order(sock)))

        def dicom_worker(kind: str) -> None:
            ae = AE(ae_title="SOAKSCU")
            ae.add_requested_context(ModalityWorklistInformationFind)
            ae.add_requested_context(CTImageStorage)
            action = (
                (lambda: soak.find(ae))
                if kind == "C-FIND worklist"
                else (lambda: soak.store(ae, template))
            )
            loop(lambda: kinds[kind].timed(action), 0.05)

        def http_worker() -> None:
            client = httpx.Client(base_url=soak.base, timeout=30)

            def fhir_read() -> None:
                found = client.get("/fhir/R4/Patient", params={"_count": "1"}).json()
                for entry in found.get("entry", []):
                    got = client.get(f"/fhir/R4/Patient/{entry['resource']['id']}")
                    got.raise_for_status()

            def fhir_search() -> None:
                client.get("/fhir/R4/ServiceRequest", params={
                    "patient.identifier": soak.patients[-1] if soak.patients else "x",
                    "_count": "10"}).raise_for_status()  # fmt: skip

            def qido() -> None:
                client.get("/dicomweb/studies", params={"limit": "20"}).raise_for_status()

            def wado() -> None:
                if soak.studies:
                    client.get(f"/dicomweb/studies/{soak.studies[-1]}/metadata").raise_for_status()

            while time.monotonic() < deadline:
                for kind, action in (("FHIR read", fhir_read), ("FHIR search", fhir_search),
                                     ("QIDO-RS", qido), ("WADO-RS metadata", wado)):  # fmt: skip
                    kinds[kind].timed(action)

        workers = [threading.Thread(target=mllp_worker) for _ in range(2)]
        workers += [threading.Thread(target=dicom_worker, args=(k,))
                    for k in ("C-FIND worklist", "C-STORE image")]  # fmt: skip
        workers += [threading.Thread(target=http_worker) for _ in range(2)]
        for worker in workers:
            worker.start()
        while time.monotonic() < deadline:
            memory.append(rss_mib(process.pid))
            time.sleep(5)
        for worker in workers:
            worker.join(60)
    finally:
        process.terminate()
        process.wait(30)
    fifth = max(1, len(memory) // 5)
    warm, last = max(memory[fifth : 2 * fifth] or memory), max(memory[-fifth:])
    errors = sum(len(k.errors) for k in kinds.values())
    flat = last <= warm * 1.2
    lines = [
        f"Soak of {seconds:.0f} s on {'PostgreSQL' if database_url else 'SQLite'}:",
        "",
        "| kind | requests | p50 ms | p99 ms | errors |",
        "| --- | ---: | ---: | ---: | ---: |",
        *(k.line() for k in kinds.values()),
        "",
        f"Server memory (RSS): {memory[0]:.0f} MiB at start, {warm:.0f} MiB after warm-up, "
        f"{last:.0f} MiB in the last fifth, {max(memory):.0f} MiB at most "
        f"({'flat' if flat else 'GROWING'}).",
    ]
    for kind in kinds.values():
        lines += [f"  {kind.name}: {e}" for e in kind.errors[:3]]
    return lines, errors == 0 and flat


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    lines, passed = run_soak(args.seconds, args.database_url)
    print("\n".join(lines))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
