"""dicomweb-client, a DICOMweb client nobody here wrote, stores, finds and retrieves."""

from __future__ import annotations

from pathlib import Path

from dicomweb_client.api import DICOMwebClient
from pydicom import dcmread

from tests.dicom.test_storage import fresh_ct


def test_dicomweb_client_stores_searches_and_retrieves_byte_for_byte(
    server, unique, tmp_path: Path
):
    client = DICOMwebClient(url=f"{server.url}/dicomweb")
    sent = dcmread(fresh_ct(tmp_path, f"DW{unique}"))
    client.store_instances([sent])
    studies = client.search_for_studies(search_filters={"PatientID": f"WLDW{unique}"})
    assert [s["0020000D"]["Value"][0] for s in studies] == [sent.StudyInstanceUID]
    series = client.search_for_series(sent.StudyInstanceUID)
    assert series[0]["0020000E"]["Value"][0] == sent.SeriesInstanceUID
    instance = client.retrieve_instance(sent.StudyInstanceUID, sent.SeriesInstanceUID,
                                        sent.SOPInstanceUID)  # fmt: skip
    assert instance.PixelData == sent.PixelData
    assert instance.PatientID == f"WLDW{unique}"
    metadata = client.retrieve_study_metadata(sent.StudyInstanceUID)
    assert metadata[0]["00100020"]["Value"] == [f"WLDW{unique}"]
