"""Retrieve Rendered and thumbnails over the running server, against pydicom's own numbers.

The reference for a grayscale image is pydicom's Modality LUT and windowing on its own
pixel_array, scaled from its output range to 0..255; PNG answers must match it within
rounding, JPEG answers within what lossy coding moves.
"""

from __future__ import annotations

from copy import deepcopy
from io import BytesIO

import httpx
import numpy as np
import pytest
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_windowing

from tests.dicomweb.stored import assert_problem, stow_testdata


@pytest.fixture
def patient(unique: str) -> str:
    return f"RENDER{unique}"


def image(response: httpx.Response, kind: str) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == kind
    picture = Image.open(BytesIO(response.content))
    assert picture.format == kind.split("/")[1].upper()
    return np.asarray(picture)


def reference(ds: Dataset, arr: np.ndarray, center: float, width: float,
              function: str = "LINEAR") -> np.ndarray:  # fmt: skip
    """pydicom's windowing of ``arr``, from its output range to 0..255."""
    windowed = deepcopy(ds)
    windowed.WindowCenter, windowed.WindowWidth, windowed.VOILUTFunction = center, width, function
    out = apply_windowing(apply_modality_lut(arr, windowed), windowed)
    bits = int(ds.BitsStored)
    low, high = (
        (0, 2**bits - 1)
        if ds.PixelRepresentation == 0
        else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    )
    slope, intercept = float(ds.get("RescaleSlope", 1)), float(ds.get("RescaleIntercept", 0))
    low, high = low * slope + intercept, high * slope + intercept
    return (out - low) / (high - low) * 255.0


def test_an_instance_renders_as_png_with_the_window_asked(server, patient):
    stored = stow_testdata(server, "CT_small.dcm", patient)  # rescale -1024, no window
    for function in ("linear", "linear-exact", "sigmoid"):
        got = image(httpx.get(f"{stored.url(server)}/rendered",
                              params={"window": f"40,400,{function}"},
                              headers={"Accept": "image/png"}), "image/png")  # fmt: skip
        expected = reference(stored.dataset, stored.dataset.pixel_array, 40, 400,
                             function.upper().replace("-", "_"))  # fmt: skip
        assert got.shape == (128, 128) and got.dtype == np.uint8
        assert np.abs(got.astype(float) - expected).max() <= 1.0, function


def test_the_header_window_is_the_default_and_jpeg_the_default_type(server, patient):
    stored = stow_testdata(server, "MR_small.dcm", patient)  # WindowCenter 600, width 1600
    got = image(httpx.get(f"{stored.url(server)}/rendered"), "image/jpeg")
    expected = reference(stored.dataset, stored.dataset.pixel_array, 600, 1600)
    assert got.shape == (64, 64)
    assert abs(got.mean() - expected.mean()) < 2.0
    assert np.abs(got.astype(float) - expected).mean() < 4.0


def test_a_frame_of_a_jpeg_multiframe_renders_in_colour(server, patient):
    stored = stow_testdata(server, "examples_ybr_color.dcm", patient)  # 30 frames of YBR JPEG
    expected = stored.dataset.pixel_array[12]  # pydicom converts to RGB
    got = image(httpx.get(f"{stored.url(server)}/frames/13/rendered",
                          headers={"Accept": "image/png"}), "image/png")  # fmt: skip
    assert got.shape == (240, 320, 3)
    assert np.abs(got.astype(int) - expected.astype(int)).max() <= 1
    other = image(httpx.get(f"{stored.url(server)}/frames/1/rendered",
                            params={"accept": "image/png"}), "image/png")  # fmt: skip
    assert not np.array_equal(other, got)


def test_monochrome1_is_inverted_and_a_palette_applied(server, patient):
    png, window = {"Accept": "image/png"}, {"window": "600,1600"}
    plain = stow_testdata(server, "MR_small.dcm", patient)
    flipped = stow_testdata(
        server, "MR_small.dcm", patient, PhotometricInterpretation="MONOCHROME1"
    )
    shown = [image(httpx.get(f"{s.url(server)}/rendered", params=window, headers=png), "image/png")
             for s in (plain, flipped)]  # fmt: skip
    assert np.abs(shown[1].astype(int) - (255 - shown[0].astype(int))).max() <= 1
    palette = stow_testdata(server, "examples_palette.dcm", patient)  # 16-bit LUT entries
    got = image(httpx.get(f"{palette.url(server)}/rendered", headers=png), "image/png")
    expected = apply_color_lut(palette.dataset.pixel_array, palette.dataset)
    assert got.shape == expected.shape == (350, 800, 3)
    assert np.abs(got.astype(int) - expected.astype(int) / 257).max() <= 1


def test_viewport_scales_keeping_the_aspect_and_crops_and_flips(server, patient):
    stored = stow_testdata(server, "JPEG2000.dcm", patient)  # 1024 rows, 256 columns
    url = f"{stored.url(server)}/rendered"
    png = {"Accept": "image/png"}
    assert image(
        httpx.get(url, params={"viewport": "100,100"}, headers=png), "image/png"
    ).shape == (100, 25)
    full = image(httpx.get(url, headers=png), "image/png")
    assert full.shape == (1024, 256)
    cut = image(httpx.get(url, params={"viewport": "64,32,10,20,64,32"}, headers=png), "image/png")
    assert np.array_equal(cut, full[20:52, 10:74])
    flipped = image(
        httpx.get(url, params={"viewport": "64,32,74,20,-64,32"}, headers=png), "image/png"
    )
    assert np.array_equal(flipped, full[20:52, 10:74][:, ::-1])


def test_quality_changes_the_jpeg_size(server, patient):
    stored = stow_testdata(server, "CT_small.dcm", patient)
    sizes = [len(httpx.get(f"{stored.url(server)}/rendered", params={"quality": q}).content)
             for q in (5, 95)]  # fmt: skip
    assert sizes[0] < sizes[1]


def test_thumbnails_at_every_level_fit_128_pixels(server, patient):
    first = stow_testdata(server, "JPEG2000.dcm", patient)
    study, series = first.study, first.series
    stow_testdata(server, "JPEG2000.dcm", patient, study=study, series=series, number=2)
    stow_testdata(server, "JPEG2000.dcm", patient, study=study, series=series, number=3)
    base = f"{server.url}/dicomweb/studies/{study}"
    instance = first.url(server)
    for url in (f"{base}/thumbnail", f"{base}/series/{series}/thumbnail",
                f"{instance}/thumbnail", f"{instance}/frames/1/thumbnail"):  # fmt: skip
        assert image(httpx.get(url), "image/jpeg").shape == (128, 32), url
    small = image(httpx.get(f"{base}/thumbnail", params={"viewport": "64,64"},
                            headers={"Accept": "image/png"}), "image/png")  # fmt: skip
    assert small.shape == (64, 16)


def test_bad_rendering_parameters_are_400_and_other_types_406(server, patient):
    stored = stow_testdata(server, "CT_small.dcm", patient)
    url = f"{stored.url(server)}/rendered"
    for params in ({"window": "40"}, {"window": "40,0"}, {"window": "40,400,cubic"},
                   {"viewport": "0,10"}, {"viewport": "a,b"}, {"viewport": "10,10,500,500,10,10"},
                   {"quality": "0"}, {"quality": "high"}):  # fmt: skip
        assert_problem(httpx.get(url, params=params), 400)
    assert_problem(httpx.get(url, headers={"Accept": "application/dicom"}), 406)
    assert_problem(httpx.get(f"{stored.url(server)}/frames/2/rendered"), 404, "frame 2")
    assert_problem(httpx.get(f"{stored.url(server)}/frames/1,1/rendered"), 400)
    report = stow_testdata(server, "reportsi.dcm", patient)
    assert_problem(httpx.get(f"{report.url(server)}/rendered"), 404, "no pixel data")
