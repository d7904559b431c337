"""The Part 10 file head against pydicom's ``write_file_meta_info``, byte for byte."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom import dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pynetdicom import PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION

from pacsbridge.formats.dicom.part10 import PREAMBLE, file_head
from tests.formats.dicom import ORACLE_FILES


def _pydicom(meta: FileMetaDataset) -> bytes:
    buffer = BytesIO()
    buffer.write(PREAMBLE)
    write_file_meta_info(buffer, meta, enforce_standard=True)
    return buffer.getvalue()


def _c_store_meta(source_ae: str | None = "MODALITY1") -> FileMetaDataset:
    """The file meta pynetdicom hands a C-STORE handler (``event.file_meta``)."""
    meta = FileMetaDataset()
    meta.FileMetaInformationGroupLength = 0
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.1234567890123"
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    meta.ImplementationClassUID = PYNETDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = PYNETDICOM_IMPLEMENTATION_VERSION
    if source_ae is not None:
        meta.SourceApplicationEntityTitle = source_ae
    return meta


@pytest.mark.parametrize("source_ae", [None, "MODALITY1", "CT2", ""])
def test_a_c_stores_file_meta(source_ae):
    meta = _c_store_meta(source_ae)
    assert file_head(meta) == _pydicom(_c_store_meta(source_ae))


def test_odd_and_even_uid_lengths_are_padded_alike():
    for uid in ("1.2.3", "1.2.34", "1.2.840.10008.5.1.4.1.1.2.1"):
        meta = _c_store_meta()
        meta.MediaStorageSOPInstanceUID = uid
        assert file_head(meta) == _pydicom(meta)


def test_unusual_meta_goes_through_pydicom():
    meta = _c_store_meta()
    meta.PrivateInformationCreatorUID = "1.2.3.4"  # (0002,0100): not in the fast table
    assert file_head(meta) == _pydicom(meta)


FILES = ORACLE_FILES


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.rsplit("/", 1)[-1])
def test_the_meta_of_every_test_file(path: str):
    try:
        meta = dcmread(path, stop_before_pixels=True).file_meta
        expected = _pydicom(meta)
    except Exception:
        pytest.skip("pydicom cannot write this file's meta")
    assert file_head(meta) == expected
