"""The first workflow of the brief, end to end, with real peers and nothing simulated inside.

A HIS simulator (an MLLP client and an MLLP server) sends ADT^A01 and the brief's
ORM^O01; dcmtk's findscu finds the worklist item; pynetdicom reports MPPS IN PROGRESS
then COMPLETED and the HIS receives both status ORMs; storescu stores the images and
the ImagingStudy's WADO-RS endpoint returns them; a report written through FHIR reaches
the HIS as ORU^R01 in the character set its destination asked for, and its ACK closes
the outbox entry.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from pynetdicom.sop_class import ModalityPerformedProcedureStep

from tests.dicom.test_mpps import associate, final, in_progress
from tests.hl7v2.test_receive import design_orm, hl7, mllp_exchange, msa, msh
from tests.outbox.test_delivery import entries, wait_until

REPORT = "Estudio sin hallazgos significativos. No se evidencian alteraciones focales."
DCMTK_ENV = {"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"}

pytestmark = pytest.mark.skipif(
    shutil.which("findscu") is None and not os.environ.get("CI"),
    reason="dcmtk is installed by .ci/run",
)


def find_worklist_item(port: int, patient: str, folder: Path) -> tuple[str, str, str]:
    """findscu -W for the patient; name, accession and study UID of the one answer."""
    found = subprocess.run(
        ["findscu", "-W", "-X", "-aec", "PACSBRIDGE", "-k", f"PatientID={patient}",
         "-k", "PatientName", "-k", "AccessionNumber", "-k", "StudyInstanceUID",
         "-k", "ScheduledProcedureStepSequence[0].Modality",
         "127.0.0.1", str(port)],
        capture_output=True, text=True, timeout=60, env=DCMTK_ENV, cwd=folder,
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    [answer] = [dcmread(path) for path in sorted(folder.glob("rsp*.dcm"))]
    assert answer.ScheduledProcedureStepSequence[0].Modality == "CT"
    return str(answer.PatientName), answer.AccessionNumber, answer.StudyInstanceUID


def store_images(port: int, folder: Path, patient: str, accession: str, study: str) -> list[Path]:
    paths = []
    series = generate_uid()
    for number in (1, 2):
        ds = dcmread(get_testdata_file("CT_small.dcm"))
        ds.PatientID, ds.AccessionNumber = patient, accession
        ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
        ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.InstanceNumber = number
        paths.append(folder / f"img{number}.dcm")
        ds.save_as(paths[-1])
    sent = subprocess.run(["storescu", "-aec", "PACSBRIDGE", "127.0.0.1", str(port),
                           *map(str, paths)],
                          capture_output=True, text=True, timeout=60, env=DCMTK_ENV)  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    return paths


def test_order_worklist_mpps_images_report_reach_the_his(outbound, answering, unique, tmp_path):
    patient, order_number = f"E2E{unique}", f"ORD-{unique}"
    admit = hl7(msh(f"A01-{unique}", "ADT^A01", charset="8859/1"),
                f"PID|1||{patient}^^^HIS||GARCÍA^PEDRO^M||19751022|M")  # fmt: skip
    assert msa(mllp_exchange(outbound.mllp_port, admit))[1] == "AA"
    orm = design_orm(f"MSG-{unique}", order_number, patient)
    assert msa(mllp_exchange(outbound.mllp_port, orm))[1] == "AA"

    name, accession, study_uid = find_worklist_item(outbound.dicom_port, patient, tmp_path)
    assert name.startswith("GARCIA^PEDRO") and accession == order_number

    step = generate_uid()
    assoc = associate(outbound.dicom_port)
    try:
        status, _ = assoc.send_n_create(in_progress(accession, study_uid),
                                        ModalityPerformedProcedureStep, step)  # fmt: skip
        assert status.Status == 0x0000
        status, _ = assoc.send_n_set(final("COMPLETED"), ModalityPerformedProcedureStep, step)
        assert status.Status == 0x0000
    finally:
        assoc.release()
    updates = answering.wait_for(2, patient)
    assert [m.field("MSH", 9) for m in updates] == ["ORM^O01^ORM_O01"] * 2
    assert [(m.field("ORC", 1), m.field("ORC", 5)) for m in updates] == [("SC", "IP"), ("SC", "CM")]
    assert {m.field("ORC", 2) for m in updates} == {order_number}

    paths = store_images(outbound.dicom_port, tmp_path, patient, accession, study_uid)
    fhir = f"{outbound.url}/fhir/R4"

    def imaging_study() -> dict | None:  # built when the association ends
        wanted = {"identifier": f"urn:dicom:uid|urn:oid:{study_uid}"}
        entries = httpx.get(f"{fhir}/ImagingStudy", params=wanted).json().get("entry", [])
        return next((e["resource"] for e in entries if e["resource"]["numberOfInstances"] == 2),
                    None)  # fmt: skip

    study = wait_until(imaging_study)
    assert study is not None and study["basedOn"]
    wado = next(e for e in (httpx.get(f"{fhir}/{r['reference']}").json()
                            for r in study["endpoint"])
                if e["connectionType"]["code"] == "dicom-wado-rs")  # fmt: skip
    assert wado["address"] == f"http://localhost:{outbound.settings.http_port}/dicomweb"
    images = httpx.get(f"{outbound.url}/dicomweb/studies/{study_uid}")
    assert images.status_code == 200
    for path in paths:  # each instance, its pixel data byte for byte
        sent = dcmread(path)
        assert sent.SOPInstanceUID.encode() in images.content
        assert sent.PixelData in images.content

    report = {"resourceType": "DiagnosticReport", "status": "final",
              "code": {"coding": [{"system": "http://loinc.org", "code": "18748-4"}]},
              "subject": study["subject"], "basedOn": study["basedOn"],
              "imagingStudy": [{"reference": f"ImagingStudy/{study['id']}"}],
              "resultsInterpreter": [{"display": "Dra. Núñez"}],
              "conclusion": REPORT}  # fmt: skip
    assert httpx.post(f"{fhir}/DiagnosticReport", json=report).status_code == 201
    messages = answering.wait_for(3, patient)
    oru = messages[2]
    assert oru.field("MSH", 9) == "ORU^R01^ORU_R01" and oru.field("MSH", 18) == "8859/1"
    assert oru.field("OBR", 25) == "F" and oru.field("OBR", 2) == order_number
    assert REPORT.encode("latin-1") in oru.raw
    assert "Dra. Núñez".encode("latin-1") in oru.raw  # OBR-32, in the destination's set
    patient_ref = study["subject"]["reference"].removeprefix("Patient/")
    wait_until(lambda: [e.status for e in entries(outbound, patient_ref)] == ["sent"] * 3)
    closed = entries(outbound, patient_ref)
    assert [e.status for e in closed] == ["sent"] * 3
    assert [e.control_id for e in closed] == [m.field("MSH", 10) for m in messages]
