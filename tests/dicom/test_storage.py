"""C-STORE with dcmtk's storescu and pynetdicom: files kept, index rows, an ImagingStudy."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage
from sqlalchemy import select

from pacsbridge.store.tables import dicom_instance
from tests.dicom.test_worklist import order


def fresh_ct(tmp_path: Path, unique: str, accession: str = "", instance: int = 1) -> Path:
    """pydicom's CT_small with new UIDs and our patient, written to a file."""
    ds = dcmread(get_testdata_file("CT_small.dcm"))
    ds.PatientID = f"WL{unique}"
    ds.AccessionNumber = accession
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = instance
    path = tmp_path / f"{ds.SOPInstanceUID}.dcm"
    ds.save_as(path)
    return path


def c_store(port: int, *paths: Path) -> list[int]:
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
    assert assoc.is_established
    try:
        return [assoc.send_c_store(dcmread(p)).Status for p in paths]
    finally:
        assoc.release()


def imaging_study(fhir_base: str, study_uid: str, instances: int = 1) -> dict:
    """The study's ImagingStudy once it counts ``instances``: it is built when the
    association ends, just after the sender has its answer."""
    deadline = time.monotonic() + 20
    while True:
        wanted = {"identifier": f"urn:dicom:uid|urn:oid:{study_uid}"}
        entries = httpx.get(f"{fhir_base}/ImagingStudy", params=wanted).json().get("entry", [])
        if entries and entries[0]["resource"]["numberOfInstances"] >= instances:
            assert len(entries) == 1
            return entries[0]["resource"]
        assert time.monotonic() < deadline, f"no ImagingStudy with {instances} instances"
        time.sleep(0.05)


def test_stored_images_make_an_imaging_study_linked_to_order_and_patient(
    server, fhir_base, settings, store, unique, tmp_path
):
    order(server.mllp_port, unique, 1)
    first = fresh_ct(tmp_path, unique, f"A1-{unique}", 1)
    study_uid = str(dcmread(first).StudyInstanceUID)
    second = tmp_path / "second.dcm"
    ds = dcmread(first)
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.InstanceNumber = 2
    ds.save_as(second)
    assert c_store(server.dicom_port, first, second, first) == [0, 0, 0]  # duplicate: success
    study = imaging_study(fhir_base, study_uid, 2)
    assert study["status"] == "available"
    assert (study["numberOfSeries"], study["numberOfInstances"]) == (1, 2)
    assert study["modality"][0]["code"] == "CT"
    assert study["basedOn"][0]["reference"].startswith("ServiceRequest/")
    patient = httpx.get(f"{fhir_base}/{study['subject']['reference']}").json()
    assert patient["identifier"][0]["value"] == f"WL{unique}"
    endpoint = httpx.get(f"{fhir_base}/{study['endpoint'][0]['reference']}").json()
    assert endpoint["connectionType"]["code"] == "dicom-wado-rs"
    with store.reader() as reader:
        path = reader.connection.execute(
            select(dicom_instance.c.path).where(
                dicom_instance.c.sop_instance_uid == str(dcmread(first).SOPInstanceUID))
        ).scalar_one()  # fmt: skip
    kept = dcmread(settings.data_dir / path)
    assert kept.PixelData == dcmread(first).PixelData  # pixel data kept as received


def test_an_unknown_patient_is_created_from_the_header(server, fhir_base, unique, tmp_path):
    path = fresh_ct(tmp_path, f"NEW{unique}")
    assert c_store(server.dicom_port, path) == [0]
    imaging_study(fhir_base, str(dcmread(path).StudyInstanceUID))
    found = httpx.get(f"{fhir_base}/Patient", params={"identifier": f"WLNEW{unique}"}).json()
    assert found["total"] == 1
    assert found["entry"][0]["resource"]["name"][0]["family"] == "CompressedSamples"


@pytest.mark.skipif(shutil.which("storescu") is None, reason="dcmtk is installed by .ci/run")
def test_dcmtk_storescu(server, fhir_base, unique, tmp_path):
    path = fresh_ct(tmp_path, f"DC{unique}")
    result = subprocess.run(["storescu", "-aec", "PACSBRIDGE", "127.0.0.1",
                             str(server.dicom_port), str(path)],
                            capture_output=True, text=True, timeout=60,
                            env={"TCP_NODELAY": "1", "PATH": "/usr/bin:/bin"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert imaging_study(fhir_base, str(dcmread(path).StudyInstanceUID))
