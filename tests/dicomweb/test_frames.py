"""WADO-RS Retrieve Frames over the running server, checked against what pydicom reads.

Native frames must be the exact bytes pydicom decodes; compressed frames the exact
fragments pydicom cuts out of the encapsulated pixel data, under the syntax's media type.
"""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from dicomweb_client.api import DICOMwebClient
from pydicom.encaps import generate_frames
from pydicom.uid import JPEGBaseline8Bit, JPEGLSLossless, RLELossless

from tests.dicomweb.stored import OHIF_ACCEPT, assert_problem, parts, stow_testdata

EXPLICIT_LE = "1.2.840.10008.1.2.1"
pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")


@pytest.fixture
def patient(unique: str) -> str:
    return f"FRAMES{unique}"


def native_bytes(arr: np.ndarray) -> bytes:
    return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()


def frames(server, stored, numbers: str, accept: str = OHIF_ACCEPT) -> httpx.Response:
    return httpx.get(f"{stored.url(server)}/frames/{numbers}", headers={"Accept": accept})


def test_an_uncompressed_frame_is_the_native_bytes(server, patient):
    stored = stow_testdata(server, "CT_small.dcm", patient)
    response = frames(server, stored, "1")
    assert 'type="application/octet-stream"' in response.headers["content-type"]
    [(headers, content)] = parts(response)
    assert headers["Content-Type"] == f"application/octet-stream; transfer-syntax={EXPLICIT_LE}"
    assert headers["Content-Location"].endswith(f"/instances/{stored.instance}/frames/1")
    assert content == stored.dataset.PixelData
    assert content == native_bytes(stored.dataset.pixel_array)


def test_frames_of_a_multiframe_image_come_in_the_order_asked(server, patient):
    stored = stow_testdata(server, "rtdose.dcm", patient)  # 15 frames, implicit VR, 32 bits
    expected = stored.dataset.pixel_array
    found = parts(
        frames(server, stored, "3,1,15", 'multipart/related; type="application/octet-stream"')
    )
    assert [h["Content-Location"].rsplit("/", 1)[1] for h, _ in found] == ["3", "1", "15"]
    assert [c for _, c in found] == [native_bytes(expected[i]) for i in (2, 0, 14)]


def test_big_endian_and_one_bit_frames_are_sent_little_endian_and_packed(server, patient):
    big = stow_testdata(server, "MR_small_bigendian.dcm", patient)
    [(_, content)] = parts(frames(server, big, "1"))
    assert np.array_equal(np.frombuffer(content, "<i2").reshape(64, 64), big.dataset.pixel_array)
    bits = stow_testdata(server, "liver_1frame.dcm", patient)  # a 1-bit segmentation
    [(_, content)] = parts(frames(server, bits, "1"))
    assert content == bits.dataset.PixelData


def test_jpeg_frames_are_sent_compressed_as_image_jpeg(server, patient):
    stored = stow_testdata(server, "examples_ybr_color.dcm", patient)  # 30 JPEG frames
    fragments = list(generate_frames(stored.dataset.PixelData, number_of_frames=30))
    jpeg = 'multipart/related; type="image/jpeg"'
    for accept in (OHIF_ACCEPT, jpeg, f"{jpeg}; transfer-syntax={JPEGBaseline8Bit}"):
        found = parts(frames(server, stored, "1,30", accept))
        assert [h["Content-Type"] for h, _ in found] == [
            f"image/jpeg; transfer-syntax={JPEGBaseline8Bit}"
        ] * 2, accept
        assert [c for _, c in found] == [fragments[0], fragments[29]]
        assert found[0][1][:2] == b"\xff\xd8"  # a JPEG stream, no item header


def test_lossless_frames_are_decoded_for_octet_stream_and_kept_with_any_syntax(server, patient):
    stored = stow_testdata(server, "MR_small_jpeg_ls_lossless.dcm", patient)
    decoded = parts(
        frames(server, stored, "1", 'multipart/related; type="application/octet-stream"')
    )
    [(headers, content)] = decoded
    assert headers["Content-Type"] == f"application/octet-stream; transfer-syntax={EXPLICIT_LE}"
    assert content == native_bytes(stored.dataset.pixel_array)
    [(headers, content)] = parts(frames(server, stored, "1"))  # transfer-syntax=*
    assert headers["Content-Type"] == f"image/jls; transfer-syntax={JPEGLSLossless}"
    assert content == next(generate_frames(stored.dataset.PixelData, number_of_frames=1))


def test_rle_frames_and_a_lossy_image_for_plain_octet_stream(server, patient):
    rle = stow_testdata(server, "SC_rgb_rle_2frame.dcm", patient)
    found = parts(frames(server, rle, "2"))
    assert found[0][0]["Content-Type"] == f"image/dicom-rle; transfer-syntax={RLELossless}"
    assert found[0][1] == list(generate_frames(rle.dataset.PixelData, number_of_frames=2))[1]
    lossy = stow_testdata(server, "examples_ybr_color.dcm", patient)
    plain = parts(frames(server, lossy, "2", 'multipart/related; type="application/octet-stream"'))
    assert plain[0][0]["Content-Type"].startswith("image/jpeg")  # PS3.18 8.7.3.3: kept lossy


def test_one_frame_may_be_asked_as_a_single_part(server, patient):
    stored = stow_testdata(server, "CT_small.dcm", patient)
    response = frames(server, stored, "1", "application/octet-stream")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/octet-stream")
    assert response.content == stored.dataset.PixelData
    assert_problem(frames(server, stored, "1,1", "application/octet-stream"), 406)


def test_what_cannot_be_given_is_406_and_says_how_it_is_stored(server, patient):
    ct = stow_testdata(server, "CT_small.dcm", patient)
    assert_problem(frames(server, ct, "1", 'multipart/related; type="image/jpeg"'), 406,
                   "Explicit VR Little Endian")  # fmt: skip
    ybr = stow_testdata(server, "examples_ybr_color.dcm", patient)  # YBR: decoding changes it
    accept = f'multipart/related; type="application/octet-stream"; transfer-syntax={EXPLICIT_LE}'
    assert_problem(frames(server, ybr, "1", accept), 406, "image/jpeg")


def test_bad_frame_lists_are_400_and_missing_frames_404(server, patient):
    stored = stow_testdata(server, "rtdose.dcm", patient)
    for bad in ("0", "a", "1,,2", "-1", "1.5"):
        assert_problem(frames(server, stored, bad), 400, "frame")
    assert_problem(frames(server, stored, "2,16"), 404, "15 frame(s)", "frame 16")
    report = stow_testdata(server, "reportsi.dcm", patient)
    assert_problem(frames(server, report, "1"), 404, "no pixel data")
    missing = f"{server.url}/dicomweb/studies/{stored.study}/series/{stored.series}/instances/1.2.3"
    assert_problem(httpx.get(f"{missing}/frames/1"), 404)


def test_dicomweb_client_reads_the_frames(server, patient):
    stored = stow_testdata(server, "rtdose.dcm", patient)
    client = DICOMwebClient(url=f"{server.url}/dicomweb")
    found = client.retrieve_instance_frames(stored.study, stored.series, stored.instance,
                                            frame_numbers=[2, 4])  # fmt: skip
    assert found == [native_bytes(stored.dataset.pixel_array[i]) for i in (1, 3)]
