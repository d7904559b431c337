"""The rows one C-STORE writes (store/instances.py), read back from the database."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from sqlalchemy import select, update

from pacsbridge.store.imaging_study import refresh_studies
from pacsbridge.store.instances import store_instance
from pacsbridge.store.tables import dicom_instance, dicom_series, dicom_study


def _received(study: str, series: str, modality: str) -> tuple[FileMetaDataset, bytes]:
    """CT_small as a C-STORE hands it over: file meta, and the dataset's bytes."""
    ds = dcmread(get_testdata_file("CT_small.dcm"))
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = study, series, modality
    ds.SOPInstanceUID = generate_uid()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_dataset(buffer, ds)
    return meta, buffer.getvalue()


def _study(store, study: str):
    with store.reader() as reader:
        return reader.connection.execute(
            select(dicom_study).where(dicom_study.c.study_uid == study)
        ).one()


def test_one_study_two_series_two_modalities(store, settings, tmp_path: Path):
    study, ct, mr = generate_uid(), generate_uid(), generate_uid()
    for series, modality in ((ct, "CT"), (ct, "CT"), (mr, "MR")):
        meta, body = _received(study, series, modality)
        assert not store_instance(store, settings.data_dir, meta, body).duplicate
    row = _study(store, study)
    assert (row.modalities, row.fhir_stale, row.patient_id) == ("CT\\MR", True, "1CT1")
    assert row.patient_name == "CompressedSamples^CT1"
    with store.reader() as reader:
        series = reader.connection.execute(
            select(dicom_series.c.series_uid, dicom_series.c.modality)
            .where(dicom_series.c.study_uid == study)
        ).all()  # fmt: skip
        instances = reader.connection.execute(
            select(dicom_instance.c.path).where(dicom_instance.c.study_uid == study)
        ).scalars().all()  # fmt: skip
    assert sorted(series) == sorted([(ct, "CT"), (mr, "MR")])
    assert len(instances) == 3
    assert all((settings.data_dir / path).is_file() for path in instances)


def test_modalities_stay_a_sorted_set_and_a_duplicate_changes_nothing(store, settings):
    study = generate_uid()
    for modality in ("SR", "MR", "CT", "MR"):
        store_instance(store, settings.data_dir, *_received(study, generate_uid(), modality))
    assert _study(store, study).modalities == "CT\\MR\\SR"
    meta, body = _received(study, generate_uid(), "US")
    assert not store_instance(store, settings.data_dir, meta, body).duplicate
    refresh_studies(store, [study], "http://localhost/dicomweb")
    assert store_instance(store, settings.data_dir, meta, body).duplicate
    (kept,) = settings.data_dir.rglob(f"{meta.MediaStorageSOPInstanceUID}.dcm")
    kept.unlink()  # its file lost, its row kept: sent again, the file is back
    assert store_instance(store, settings.data_dir, meta, body).duplicate
    assert kept.is_file()
    row = _study(store, study)
    assert (row.modalities, row.fhir_stale) == ("CT\\MR\\SR\\US", False)


def test_an_instance_after_the_refresh_makes_the_study_stale_again(store, settings):
    study, series = generate_uid(), generate_uid()
    store_instance(store, settings.data_dir, *_received(study, series, "CT"))
    refresh_studies(store, [study], "http://localhost/dicomweb")
    assert _study(store, study).fhir_stale is False
    store_instance(store, settings.data_dir, *_received(study, series, "CT"))
    assert _study(store, study).fhir_stale is True


def test_a_receiving_study_is_touched_again_after_a_while(store, settings):
    study, series = generate_uid(), generate_uid()
    store_instance(store, settings.data_dir, *_received(study, series, "CT"))
    long_ago = _study(store, study).updated_at.replace(year=2020)
    with store.transaction() as transaction:
        transaction.connection.execute(
            update(dicom_study).where(dicom_study.c.study_uid == study).values(updated_at=long_ago)
        )
    store_instance(store, settings.data_dir, *_received(study, series, "CT"))
    assert _study(store, study).updated_at > long_ago


def test_an_instance_stored_during_a_rebuild_leaves_the_study_stale(store, settings):
    """A rebuild that read the rows before the instance must not leave the study fresh."""
    study, series = generate_uid(), generate_uid()
    store_instance(store, settings.data_dir, *_received(study, series, "CT"))
    this_study = dicom_study.c.study_uid == study
    with store.transaction() as rebuild:  # as refresh_studies holds it while it rebuilds
        rebuild.connection.execute(
            select(dicom_study.c.fhir_stale).where(this_study).with_for_update()
        )
        sender = threading.Thread(target=store_instance, args=(
            store, settings.data_dir, *_received(study, series, "CT")))  # fmt: skip
        sender.start()
        sender.join(0.5)  # it waits for the rebuild's lock (row, or SQLite's writer)
        rebuild.connection.execute(update(dicom_study).where(this_study).values(fhir_stale=False))
    sender.join()
    assert _study(store, study).fhir_stale is True


def test_associations_ending_one_after_another_make_one_rebuild(store, settings):
    """One association per image: the study is rebuilt once for the burst, with them all."""
    from pacsbridge.dicom.refresh import StudyRefresher

    refresher = StudyRefresher(store, "http://localhost/dicomweb", delay=1.0)
    study, series = generate_uid(), generate_uid()
    for _ in range(4):
        store_instance(store, settings.data_dir, *_received(study, series, "CT"))
        refresher.request({study})  # what the end of each association asks
    assert _study(store, study).imaging_study_id is None  # not yet: within the delay
    deadline = time.monotonic() + 20
    while (row := _study(store, study)).fhir_stale:
        assert time.monotonic() < deadline, "the study was never rebuilt"
        time.sleep(0.05)
    with store.reader() as reader:
        imaging_study = reader.read("ImagingStudy", row.imaging_study_id).resource
    assert imaging_study["numberOfInstances"] == 4
    assert imaging_study["meta"]["versionId"] == "1"
    refresher.stop()


def test_stopping_rebuilds_what_waits(store, settings):
    from pacsbridge.dicom.refresh import StudyRefresher

    refresher = StudyRefresher(store, "http://localhost/dicomweb", delay=60)
    study = generate_uid()
    store_instance(store, settings.data_dir, *_received(study, generate_uid(), "CT"))
    refresher.request({study})
    refresher.stop()
    assert _study(store, study).fhir_stale is False
