"""Bad peers: unknown calling AEs, malformed datasets, aborted associations; others go on."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification

from pacsbridge.config import Settings
from pacsbridge.dicom.ae import DicomListener
from tests.conftest import free_port


def echo(port: int, calling: str = "TESTSCU") -> int | None:
    ae = AE(ae_title=calling)
    ae.acse_timeout = ae.network_timeout = 5  # an aborted connection must not wait long
    ae.add_requested_context(Verification)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
    if not assoc.is_established:
        return None
    try:
        return assoc.send_c_echo().Status
    finally:
        assoc.release()


def test_unknown_calling_ae_titles_are_refused(store, tmp_path):
    listener = DicomListener(store, Settings(data_dir=tmp_path, dicom_allowed_aets=["CT_ROOM1"]))
    port = free_port()
    listener.start("127.0.0.1", port)
    try:
        assert echo(port, "INTRUDER") is None
        assert echo(port, "CT_ROOM1") == 0x0000
    finally:
        listener.stop()


def bare_ct(**attributes: str) -> Dataset:
    """A CT dataset with only the attributes given, for datasets the server must refuse."""
    ds = Dataset()
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def store_status(port: int, ds: Dataset) -> int:
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
    assert assoc.is_established
    try:
        return assoc.send_c_store(ds).Status
    finally:
        assoc.release()


def test_a_malformed_dataset_gets_a_failure_status_and_the_server_goes_on(server):
    ds = bare_ct(PatientID="BROKEN")  # no Study/Series Instance UID: nothing can be filed
    assert store_status(server.dicom_port, ds) >= 0xA000  # a failure status, not success
    assert echo(server.dicom_port) == 0x0000


def test_an_association_dropped_mid_transfer_leaves_the_server_serving(server):
    with socket.create_connection(("127.0.0.1", server.dicom_port), timeout=10) as raw:
        raw.sendall(b"\x01\x00\x00\x00\x10\x00")  # the start of an A-ASSOCIATE-RQ, then gone
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", server.dicom_port, ae_title="PACSBRIDGE")
    assert assoc.is_established
    assoc.abort()  # abort an established association too
    time.sleep(0.2)
    assert echo(server.dicom_port) == 0x0000


def test_a_uid_that_would_leave_the_data_dir_is_refused(server, settings):
    ds = bare_ct(StudyInstanceUID="../../../escape", SeriesInstanceUID=generate_uid(),
                 PatientID="EVIL")  # fmt: skip
    assert store_status(server.dicom_port, ds) >= 0xA000
    assert not (settings.data_dir.parent / "escape").exists()
    assert not any(settings.data_dir.parent.parent.glob("escape*"))


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_addresses_outside_the_allow_list_are_cut_off(store, tmp_path):
    """Closed before they speak, without an exception in pynetdicom's threads."""
    listener = DicomListener(store, Settings(data_dir=tmp_path, dicom_allow=["10.0.0.0/8"]))
    port = free_port()
    listener.start("127.0.0.1", port)
    try:
        assert echo(port) is None
    finally:
        listener.stop()
    listener = DicomListener(store, Settings(data_dir=tmp_path, dicom_allow=["127.0.0.0/8"]))
    listener.start("127.0.0.1", port)
    try:
        assert echo(port) == 0x0000
    finally:
        listener.stop()


def test_the_replace_policy_keeps_the_second_copy(store, tmp_path):
    from pydicom import dcmread

    from tests.dicom.test_storage import fresh_ct

    settings = Settings(data_dir=tmp_path, dicom_duplicate_policy="replace")
    listener = DicomListener(store, settings)
    port = free_port()
    listener.start("127.0.0.1", port)
    try:
        path = fresh_ct(tmp_path, "REPLACE")
        ds = dcmread(path)
        ae = AE(ae_title="MODALITY")
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
        assert assoc.send_c_store(ds).Status == 0
        ds.SeriesDescription = "second copy"
        assert assoc.send_c_store(ds).Status == 0
        assoc.release()
    finally:
        listener.stop()
    kept = list((tmp_path / "dicom").rglob("*.dcm"))
    assert len(kept) == 1 and dcmread(kept[0]).SeriesDescription == "second copy"
    assert not list((tmp_path / "dicom").rglob("*.part"))


def test_the_default_policy_keeps_the_first_copy_and_leaves_no_temporary_file(store, tmp_path):
    from pydicom import dcmread

    from tests.dicom.test_storage import fresh_ct

    listener = DicomListener(store, Settings(data_dir=tmp_path))
    port = free_port()
    listener.start("127.0.0.1", port)
    try:
        ds = dcmread(fresh_ct(tmp_path, "KEEPFIRST"))
        ae = AE(ae_title="MODALITY")
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
        assert assoc.send_c_store(ds).Status == 0
        ds.SeriesDescription = "second copy"
        assert assoc.send_c_store(ds).Status == 0  # a duplicate is a success
        assoc.release()
    finally:
        listener.stop()
    kept = list((tmp_path / "dicom").rglob("*.dcm"))
    assert len(kept) == 1 and "SeriesDescription" not in dcmread(kept[0])
    assert not list((tmp_path / "dicom").rglob("*.part"))


def test_a_half_written_file_left_without_its_row_is_replaced(store, tmp_path):
    """A crash between the file and the commit leaves a file that no row names; the
    sender's retry must not be taken for a duplicate of it."""
    from pydicom import dcmread

    from tests.dicom.test_storage import fresh_ct

    ds = dcmread(fresh_ct(tmp_path, "LEFTOVER"))
    final = (tmp_path / "dicom" / ds.StudyInstanceUID / ds.SeriesInstanceUID
             / f"{ds.SOPInstanceUID}.dcm")  # fmt: skip
    final.parent.mkdir(parents=True)
    final.write_bytes(b"\0" * 200)  # cut off mid-write
    listener = DicomListener(store, Settings(data_dir=tmp_path))
    port = free_port()
    listener.start("127.0.0.1", port)
    try:
        ae = AE(ae_title="MODALITY")
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE")
        assert assoc.send_c_store(ds).Status == 0
        assoc.release()
    finally:
        listener.stop()
    assert dcmread(final).SOPInstanceUID == ds.SOPInstanceUID
    assert not list((tmp_path / "dicom").rglob("*.part"))


def test_idle_connections_leave_dicom_and_http_answering(store, tmp_path):
    """Connections that never speak take no service away for long: 1,000 on HTTP (asyncio
    holds them), and on DICOM more than its associations (each a thread), which the ARTIM
    timer drops so that a modality's echo goes through."""
    settings = Settings(data_dir=tmp_path, dicom_max_associations=20,
                        dicom_acse_timeout_seconds=1.0)  # fmt: skip
    listener = DicomListener(store, settings)
    port = free_port()
    listener.start("127.0.0.1", port)
    idle = []
    try:
        idle += [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(60)]
        deadline = time.monotonic() + 15
        while echo(port) != 0x0000:  # refused while the idle ones hold every slot
            assert time.monotonic() < deadline, "the idle connections were never dropped"
            time.sleep(0.2)
    finally:
        for connection in idle:
            connection.close()
        listener.stop()


def test_a_thousand_idle_http_connections_leave_the_api_answering(server):
    idle = [socket.create_connection(("127.0.0.1", server.settings.http_port), timeout=30)
            for _ in range(1000)]  # fmt: skip
    try:
        answer = httpx.get(f"{server.url}/fhir/R4/metadata", timeout=10)
        assert answer.status_code == 200
    finally:
        for connection in idle:
            connection.close()
