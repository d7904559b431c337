"""The one-pass header reader against its oracle, pydicom's ``to_json_dict``."""

from __future__ import annotations

import random
import warnings
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.filereader import _read_file_meta_info, read_preamble

from pacsbridge.formats.dicom.header import Header, read_header_json
from tests.formats.dicom import ORACLE_FILES


def _parts(path: str) -> tuple[str, bytes] | None:
    """The transfer syntax and the dataset bytes after the file meta."""
    with open(path, "rb") as handle:
        try:
            read_preamble(handle, False)
            meta = _read_file_meta_info(handle)
            return str(meta.TransferSyntaxUID), handle.read()
        except Exception:
            return None


def _expected(path: str) -> dict | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return dcmread(path, stop_before_pixels=True).to_json_dict(1024, lambda e: "")
        except Exception:
            return None


FILES = [p for p in ORACLE_FILES if _parts(p) and _expected(p) is not None]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.rsplit("/", 1)[-1])
def test_the_reader_gives_pydicoms_json_or_declines(path: str):
    syntax, body = _parts(path)
    ours = read_header_json(body, syntax, 1024)
    if ours is None:
        return  # pydicom's path reads it: the store's tests cover that
    expected = _expected(path)
    assert list(ours) == list(expected)
    for key in expected:
        assert ours[key] == expected[key], key


def test_it_reads_most_explicit_little_endian_files_itself():
    read = [p for p in FILES if read_header_json(_parts(p)[1], _parts(p)[0], 1024) is not None]
    assert len(read) >= 40, len(read)
    assert get_testdata_file("CT_small.dcm") in read


def test_implicit_vr_and_big_endian_are_left_to_pydicom():
    _, body = _parts(get_testdata_file("CT_small.dcm"))
    assert read_header_json(body, "1.2.840.10008.1.2", 1024) is None
    assert read_header_json(body, "1.2.840.10008.1.2.2", 1024) is None
    assert read_header_json(body, "1.2.3.not-a-syntax", 1024) is None


def test_damaged_bytes_are_declined_never_raised():
    syntax, body = _parts(get_testdata_file("CT_small.dcm"))
    header = body[: body.find(b"\xe0\x7f\x10\x00")]  # up to the pixel data
    for end in range(0, len(header), 7):
        result = read_header_json(header[:end], syntax, 1024)
        assert result is None or isinstance(result, dict)
    rng = random.Random(20261129)
    for _ in range(300):
        damaged = bytearray(header)
        for _ in range(rng.randint(1, 8)):
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
        result = read_header_json(bytes(damaged), syntax, 1024)
        assert result is None or isinstance(result, dict)


def test_large_binary_values_become_empty_bulk_data_uris(tmp_path: Path):
    syntax, body = _parts(get_testdata_file("CT_small.dcm"))
    ours = read_header_json(body, syntax, 16)
    expected = dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True).to_json_dict(
        16, lambda e: ""
    )
    assert ours == expected
    assert any("BulkDataURI" in element for element in ours.values())


def test_header_gives_dicom_text_by_keyword():
    syntax, body = _parts(get_testdata_file("CT_small.dcm"))
    header = Header(read_header_json(body, syntax, 1024))
    ds = dcmread(get_testdata_file("CT_small.dcm"), stop_before_pixels=True)
    for keyword in ("PatientName", "PatientID", "StudyDate", "StudyTime", "Modality",
                    "StudyInstanceUID", "PatientSex", "ImageType"):  # fmt: skip
        element = ds[keyword]
        expected = "\\".join(map(str, element.value)) if element.VM > 1 else str(element.value)
        assert header[keyword] == expected, keyword
    assert header["AccessionNumber"] == "" and header.get("IssuerOfPatientID") is None


def test_header_joins_a_person_names_groups():
    name = {"00100010": {"vr": "PN", "Value": [{"Alphabetic": "Yamada^Tarou",
                                                "Ideographic": "山田^太郎"}]}}  # fmt: skip
    assert Header(name)["PatientName"] == "Yamada^Tarou=山田^太郎"
