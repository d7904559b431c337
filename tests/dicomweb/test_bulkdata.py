"""Bulk data: large binary values get a BulkDataURI in the metadata that answers them."""

from __future__ import annotations

import httpx

from tests.dicomweb.stored import assert_problem, parts, stow_testdata

WAVEFORM_SEQUENCE, WAVEFORM_DATA = "54000100", "54001010"


def test_metadata_points_at_bulk_data_that_answers_the_value(server, unique):
    stored = stow_testdata(server, "waveform_ecg.dcm", f"BULK{unique}")
    [item] = httpx.get(f"{stored.url(server)}/metadata").json()
    waveforms = item[WAVEFORM_SEQUENCE]["Value"]
    uri = waveforms[1][WAVEFORM_DATA]["BulkDataURI"]
    assert uri.endswith(
        f"/instances/{stored.instance}/bulkdata/{WAVEFORM_SEQUENCE}/1/{WAVEFORM_DATA}"
    )
    expected = stored.dataset.WaveformSequence[1].WaveformData
    [(headers, content)] = parts(httpx.get(uri))
    assert headers["Content-Type"] == "application/octet-stream"
    assert headers["Content-Location"] == uri
    assert content == expected
    single = httpx.get(uri, headers={"Accept": "application/octet-stream"})
    assert single.status_code == 200 and single.content == expected
    study = httpx.get(f"{server.url}/dicomweb/studies/{stored.study}/metadata").json()
    assert study[0][WAVEFORM_SEQUENCE]["Value"][0][WAVEFORM_DATA]["BulkDataURI"].startswith("http")


def test_bad_and_missing_bulk_data_paths(server, unique):
    stored = stow_testdata(server, "waveform_ecg.dcm", f"BULK{unique}")
    base = f"{stored.url(server)}/bulkdata"
    for bad in ("xyz", f"{WAVEFORM_SEQUENCE}/a/{WAVEFORM_DATA}", f"{WAVEFORM_SEQUENCE}/0"):
        assert_problem(httpx.get(f"{base}/{bad}"), 400, "bulk data path")
    assert_problem(httpx.get(f"{base}/{WAVEFORM_SEQUENCE}/9/{WAVEFORM_DATA}"), 404, "no bulk data")
    assert_problem(httpx.get(f"{base}/00100010"), 404, "not a binary value")
    assert_problem(httpx.get(f"{base}/7FE00010"), 404, "frame")
    assert_problem(httpx.get(f"{base}/{WAVEFORM_SEQUENCE}/0/{WAVEFORM_DATA}",
                             headers={"Accept": "image/jpeg"}), 406)  # fmt: skip
