"""The fast DICOM JSON encoder against its oracle, pydicom's ``to_json_dict``."""

from __future__ import annotations

import warnings

import pytest
from pydicom import dcmread

from pacsbridge.formats.dicom.json import dataset_to_json
from tests.formats.dicom import ORACLE_FILES


def handler(element) -> str:
    return ""


def _readable(path: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return dcmread(path, stop_before_pixels=True)
        except Exception:
            return None


FILES = [p for p in ORACLE_FILES if _readable(p) is not None]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.rsplit("/", 1)[-1])
def test_every_element_matches_pydicom(path: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = _readable(path).to_json_dict(1024, handler)
        except Exception:
            pytest.skip("pydicom itself cannot write this file as JSON")
        ours = dataset_to_json(_readable(path), 1024, handler)
    assert list(ours) == list(expected)
    for key in expected:
        assert ours[key] == expected[key], key


def test_there_are_enough_oracle_files():
    assert len(FILES) > 50
