"""WADO-RS over the running server: stored files back byte for byte, metadata, 404s, CORS."""

from __future__ import annotations

import re
from io import BytesIO

import httpx
from pydicom import dcmread
from sqlalchemy import select

from pacsbridge.store.tables import dicom_instance
from tests.dicomweb.test_qido import store_study


def parse_multipart(response: httpx.Response) -> list[tuple[str, bytes]]:
    """The parts of a multipart/related body (RFC 2046 5.1.1): Content-Type and bytes."""
    media = response.headers["content-type"]
    assert media.startswith("multipart/related") and 'type="application/dicom"' in media
    boundary = re.search(r"boundary=\"?([^\";]+)", media).group(1).encode()
    body = response.content
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    parts = []
    for chunk in body.split(b"--" + boundary)[1:-1]:
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode("ascii").split("\r\n") if line)
        parts.append((headers["Content-Type"], content))
    return parts


def stored_bytes(settings, store, sop_uid: str) -> bytes:
    with store.reader() as reader:
        path = reader.connection.execute(
            select(dicom_instance.c.path).where(dicom_instance.c.sop_instance_uid == sop_uid)
        ).scalar_one()
    return (settings.data_dir / path).read_bytes()


def test_an_instance_comes_back_byte_for_byte(server, settings, store, tmp_path, unique):
    study = store_study(server, tmp_path, f"WADO{unique}")
    sop = study.instances[0]
    url = f"{server.url}/dicomweb/studies/{study.uid}/series/{study.series[0]}/instances/{sop}"
    response = httpx.get(url, headers={"Accept": 'multipart/related; type="application/dicom"'})
    assert response.status_code == 200
    [(content_type, content)] = parse_multipart(response)
    assert content_type.startswith("application/dicom; transfer-syntax=1.2.840.10008.1.2")
    assert content == stored_bytes(settings, store, sop)
    assert dcmread(study.files[sop]).PixelData == dcmread(BytesIO(content)).PixelData


def test_a_study_and_a_series_send_every_instance(server, settings, store, tmp_path, unique):
    study = store_study(server, tmp_path, f"WADO{unique}", series_sizes=(2, 1))
    whole = parse_multipart(httpx.get(f"{server.url}/dicomweb/studies/{study.uid}"))
    assert sorted(c for _, c in whole) == sorted(
        stored_bytes(settings, store, sop) for sop in study.instances
    )
    series = httpx.get(f"{server.url}/dicomweb/studies/{study.uid}/series/{study.series[0]}")
    assert len(parse_multipart(series)) == 2


def test_metadata_has_the_header_and_no_pixel_data(server, tmp_path, unique):
    study = store_study(server, tmp_path, f"WADO{unique}", series_sizes=(2,))
    base = f"{server.url}/dicomweb/studies/{study.uid}"
    urls = [f"{base}/metadata", f"{base}/series/{study.series[0]}/metadata",
            f"{base}/series/{study.series[0]}/instances/{study.instances[0]}/metadata"]  # fmt: skip
    for url, count in zip(urls, (2, 2, 1), strict=True):
        response = httpx.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/dicom+json")
        found = response.json()
        assert len(found) == count
        for item in found:
            assert item["00100020"]["Value"] == [f"WADO{unique}"]
            assert "Value" not in item.get("7FE00010", {})
            assert "InlineBinary" not in item.get("7FE00010", {})
            assert '"BulkDataURI":""' not in response.text


def test_unknown_study_series_and_instance_are_404_problems(server, tmp_path, unique):
    study = store_study(server, tmp_path, f"WADO{unique}")
    base = f"{server.url}/dicomweb/studies"
    for path in ("/1.2.3.999", f"/{study.uid}/series/1.2.3.999",
                 f"/{study.uid}/series/{study.series[0]}/instances/1.2.3.999",
                 "/1.2.3.999/metadata", f"/{study.uid}/series/1.2.3.999/metadata"):  # fmt: skip
        response = httpx.get(base + path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == 404
    assert httpx.get(f"{server.url}/dicomweb/nothing-here").status_code == 404


def test_an_unservable_accept_is_406(server, tmp_path, unique):
    study = store_study(server, tmp_path, f"WADO{unique}")
    response = httpx.get(f"{server.url}/dicomweb/studies/{study.uid}",
                         headers={"Accept": 'multipart/related; type="image/jpeg"'})  # fmt: skip
    assert response.status_code == 406


def test_cors_lets_a_viewer_on_another_origin_read(server):
    origin = "http://viewer.example"
    preflight = httpx.options(
        f"{server.url}/dicomweb/studies",
        headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", origin)
    response = httpx.get(f"{server.url}/dicomweb/studies", headers={"Origin": origin})
    assert response.headers["access-control-allow-origin"] == "*"
