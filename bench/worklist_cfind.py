"""Worklist C-FIND: pacsbridge beside dcmtk's wlmscpfs serving the same items as files.

    python bench/worklist_cfind.py [--sizes 1000,10000] [--queries 200]

For each size, the same scheduled items are loaded into pacsbridge (through the store,
as ServiceRequests with the worklist extension, so the projection fills the worklist) and
written as `.wl` files for `wlmscpfs`; one pynetdicom SCU process then times the same
queries against both, one after the other, and the ratio wlmscpfs/pacsbridge of the median
query time is printed first (goal: at least 5x at 10,000 items, near-flat growth).
"""

from __future__ import annotations

import argparse
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE, evt
from pynetdicom.sop_class import ModalityWorklistInformationFind
from servers import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from pacsbridge.app import build_store  # noqa: E402
from pacsbridge.config import Settings  # noqa: E402
from pacsbridge.formats.fhir.imaging_order import (  # noqa: E402
    ScheduledStep,
    study_uid_identifier,
    typed_identifier,
    write_step,
)

FAMILIES = ["GARCIA", "LOPEZ", "MARTIN", "SANCHEZ", "PEREZ", "GOMEZ", "RUIZ", "DIAZ", "MORENO"]
MODALITIES = ["CT", "MR", "US", "CR", "DX", "NM"]


def items(count: int, seed: int = 7) -> list[dict[str, str]]:
    rng = random.Random(seed)
    rows = []
    for n in range(count):
        day = 1 + n % 28
        rows.append({
            "patient_id": f"P{n:07d}", "family": rng.choice(FAMILIES), "given": f"G{n % 97}",
            "accession": f"A{n:07d}", "modality": rng.choice(MODALITIES),
            "date": f"202503{day:02d}", "time": f"{8 + n % 10:02d}{(n * 7) % 60:02d}00",
            "study_uid": generate_uid(), "station": f"ST{n % 5}",
        })  # fmt: skip
    return rows


def load_pacsbridge(data_dir: Path, rows: list[dict[str, str]]) -> None:
    store = build_store(Settings(data_dir=data_dir))
    for start in range(0, len(rows), 500):
        with store.transaction() as transaction:
            for row in rows[start : start + 500]:
                patient = transaction.create({
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:pacsbridge:id:HIS", "value": row["patient_id"]}],
                    "name": [{"family": row["family"], "given": [row["given"]]}],
                })  # fmt: skip
                date, tm = row["date"], row["time"]
                order = {
                    "resourceType": "ServiceRequest", "status": "active", "intent": "order",
                    "subject": {"reference": f"Patient/{patient.id}"},
                    "identifier": [typed_identifier("ACSN", row["accession"], "urn:x"),
                                   study_uid_identifier(row["study_uid"])],
                    "occurrenceDateTime": f"{date[:4]}-{date[4:6]}-{date[6:]}T"
                                          f"{tm[:2]}:{tm[2:4]}:00+00:00",
                }  # fmt: skip
                step = ScheduledStep(sps_id="1", modality=row["modality"],
                                     station_ae=row["station"])  # fmt: skip
                transaction.create(write_step(order, step))
    store.database.analyze()
    store.database.dispose()


def write_wlmscpfs(root: Path, rows: list[dict[str, str]]) -> None:
    folder = root / "PACSBRIDGE"
    folder.mkdir(parents=True)
    (folder / "lockfile").touch()
    for n, row in enumerate(rows):
        ds = Dataset()
        ds.SpecificCharacterSet = "ISO_IR 100"
        ds.PatientName = f"{row['family']}^{row['given']}"
        ds.PatientID = row["patient_id"]
        ds.AccessionNumber = row["accession"]
        ds.PatientBirthDate = "19700101"
        ds.PatientSex = "O"
        ds.StudyInstanceUID = row["study_uid"]
        ds.RequestingPhysician = "SMITH"
        ds.RequestedProcedureDescription = "EXAM"
        ds.RequestedProcedureID = "1"
        ds.RequestedProcedurePriority = "ROUTINE"
        step = Dataset()  # every key wlmscpfs wants in an item file (dcmtk's examples)
        step.Modality = row["modality"]
        step.ScheduledStationAETitle = row["station"]
        step.ScheduledProcedureStepStartDate = row["date"]
        step.ScheduledProcedureStepStartTime = row["time"]
        step.ScheduledPerformingPhysicianName = "JOHNSON"
        step.ScheduledProcedureStepDescription = "EXAM"
        step.ScheduledProcedureStepID = "1"
        step.ScheduledStationName = "STN"
        step.ScheduledProcedureStepLocation = "B1"
        step.PreMedication = ""
        step.CommentsOnTheScheduledProcedureStep = ""
        ds.ScheduledProcedureStepSequence = [step]
        ds.file_meta = FileMetaDataset()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.file_meta.MediaStorageSOPClassUID = "1.2.276.0.7230010.3.1.0.1"
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.save_as(folder / f"item{n:07d}.wl", enforce_file_format=True)


def queries(rows: list[dict[str, str]], count: int) -> list[Dataset]:
    rng = random.Random(11)
    made = []
    for n in range(count):
        row = rng.choice(rows)
        ds = Dataset()
        ds.PatientName = ""
        ds.PatientID = row["patient_id"] if n % 3 == 0 else ""
        ds.AccessionNumber = ""
        step = Dataset()
        step.Modality = row["modality"] if n % 3 == 1 else ""
        step.ScheduledStationAETitle = row["station"] if n % 3 == 1 else ""
        step.ScheduledProcedureStepStartDate = row["date"] if n % 3 != 0 else ""
        step.ScheduledProcedureStepStartTime = ""
        ds.ScheduledProcedureStepSequence = [step]
        if n % 3 == 2:
            ds.PatientName = row["family"][:3] + "*"
        made.append(ds)
    return made


def _no_delay(event: Any) -> None:
    """The SCU's own small messages must not wait for Nagle either (dcmtk: TCP_NODELAY=1)."""
    raw = getattr(getattr(event.assoc.dul, "socket", None), "socket", None)
    if isinstance(raw, socket.socket):
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def time_queries(port: int, wanted: list[Dataset]) -> tuple[list[float], int]:
    ae = AE(ae_title="BENCHSCU")
    ae.add_requested_context(ModalityWorklistInformationFind)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE",
                         evt_handlers=[(evt.EVT_CONN_OPEN, _no_delay)])  # fmt: skip
    assert assoc.is_established, "could not associate"
    times, answers = [], 0
    try:
        for ds in wanted:
            started = time.perf_counter()
            for status, _found in assoc.send_c_find(ds, ModalityWorklistInformationFind):
                if status and status.Status in (0xFF00, 0xFF01):
                    answers += 1
            times.append(time.perf_counter() - started)
    finally:
        assoc.release()
    return times, answers


def serve(args: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"})  # fmt: skip
    ae = AE(ae_title="PROBE")
    ae.add_requested_context(ModalityWorklistInformationFind)
    for _ in range(300):
        assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
        if assoc.is_established:
            assoc.release()
            return process
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{args[0]} did not answer on port {port}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--queries", type=int, default=200)
    options = parser.parse_args()
    if shutil.which("wlmscpfs") is None:
        sys.exit("wlmscpfs (dcmtk) is needed: apt-get install dcmtk")
    lines = []
    for size in [int(s) for s in options.sizes.split(",")]:
        rows = items(size)
        wanted = queries(rows, options.queries)
        with tempfile.TemporaryDirectory() as work:
            root = Path(work)
            load_pacsbridge(root / "pb", rows)
            write_wlmscpfs(root / "wl", rows)
            ours_port, theirs_port = free_port(), free_port()  # fixed ports met other servers
            ours = serve([sys.executable, "-m", "pacsbridge", "serve", "--data-dir",
                          str(root / "pb"), "--dicom-port", str(ours_port), "--http-port",
                          str(free_port()), "--mllp-port", str(free_port()),
                          "--log-level", "warning"], ours_port)  # fmt: skip
            try:
                ours_times, ours_answers = time_queries(ours_port, wanted)
            finally:
                ours.terminate()
                ours.wait(20)
            theirs = serve(["wlmscpfs", "-dfp", str(root / "wl"), str(theirs_port)], theirs_port)
            try:
                theirs_times, theirs_answers = time_queries(theirs_port, wanted)
            finally:
                theirs.terminate()
                theirs.wait(20)
        p50_ours, p50_theirs = statistics.median(ours_times), statistics.median(theirs_times)
        lines.append(
            f"| {size:,} | {p50_ours * 1000:.2f} | {p50_theirs * 1000:.2f} | "
            f"**{p50_theirs / p50_ours:.1f}x** | {ours_answers} / {theirs_answers} |"
        )
        print(lines[-1], flush=True)
    print("\n| items | pacsbridge p50 ms | wlmscpfs p50 ms | speed-up | answers (ours/theirs) |")
    print("|---:|---:|---:|---:|---|")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
