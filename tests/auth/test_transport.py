"""Transport security: HTTPS and trusted proxies on the HTTP port, TLS on the DICOM port."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, Verification
from sqlalchemy import select

from pacsbridge.app import announce, build_http_app, http_config
from pacsbridge.config import Settings
from pacsbridge.dicom.ae import DicomListener
from pacsbridge.store import Store
from pacsbridge.store.tables import dicom_instance
from tests.conftest import free_port
from tests.dicom.test_storage import fresh_ct

# --- a small PKI: a CA, a server certificate for 127.0.0.1 and localhost, a client ---


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(
    name: str, key: rsa.RSAPrivateKey, issuer: x509.Name, signer: rsa.RSAPrivateKey, **kinds: bool
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.BasicConstraints(ca=kinds.get("ca", False), path_length=None), critical=True
        )
    )
    if kinds.get("server"):
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    if kinds.get("client"):
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def _write(folder: Path, name: str, key: rsa.RSAPrivateKey, cert: x509.Certificate) -> None:
    (folder / f"{name}.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ))  # fmt: skip
    (folder / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ca.pem, server.pem/.key (127.0.0.1, localhost) and client.pem/.key, made here."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key = _key()
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pacsbridge test CA")])
    ca = _certificate("pacsbridge test CA", ca_key, ca_name, ca_key, ca=True)
    _write(folder, "ca", ca_key, ca)
    for name in ("server", "client"):
        key = _key()
        _write(folder, name, key, _certificate(name, key, ca_name, ca_key, **{name: True}))
    return folder


# --- HTTP ---


@contextmanager
def serving(settings: Settings, store: Store) -> Iterator[None]:
    """The HTTP app with the configuration ``run()`` gives uvicorn, on a thread."""
    server = uvicorn.Server(http_config(settings, build_http_app(settings, store)))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def on_port(settings: Settings, **changes: object) -> Settings:
    return settings.model_copy(update={"http_port": free_port(), **changes})


def test_https_serves_the_capability_statement(settings, store, pki):
    tls = on_port(settings, http_tls_certificate=pki / "server.pem",
                  http_tls_key=pki / "server.key")  # fmt: skip
    trust = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with serving(tls, store), httpx.Client(verify=trust, timeout=30) as client:
        answer = client.get(f"https://127.0.0.1:{tls.http_port}/fhir/R4/metadata")
        assert answer.status_code == 200
        assert answer.json()["implementation"]["url"].startswith("https://127.0.0.1:")
        with pytest.raises(httpx.TransportError):  # no plain HTTP on the TLS port
            httpx.get(f"http://127.0.0.1:{tls.http_port}/fhir/R4/metadata", timeout=10)


def test_forwarded_headers_count_only_from_listed_proxies(settings, store):
    headers = {"x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9"}

    def scheme_seen(config: Settings) -> str:
        with serving(config, store):
            url = f"http://127.0.0.1:{config.http_port}/fhir/R4/metadata"
            answer = httpx.get(url, headers=headers, timeout=30)
        return answer.json()["implementation"]["url"].split(":")[0]

    assert scheme_seen(on_port(settings, forwarded_allow_ips=["127.0.0.1"])) == "https"
    assert scheme_seen(on_port(settings, forwarded_allow_ips=[])) == "http"


def test_the_proxy_list_and_certificates_reach_uvicorn(settings, pki):
    plain = http_config(settings.model_copy(update={"forwarded_allow_ips": []}), app=None)
    assert plain.proxy_headers is False and plain.ssl_certfile is None
    behind = http_config(settings.model_copy(update={
        "forwarded_allow_ips": ["10.0.0.0/8"], "http_tls_certificate": pki / "server.pem",
        "http_tls_key": pki / "server.key",
    }), app=None)  # fmt: skip
    assert behind.proxy_headers is True and behind.forwarded_allow_ips == ["10.0.0.0/8"]
    assert behind.ssl_certfile == str(pki / "server.pem")


def test_the_start_up_line_says_https_and_warns_loudly_when_auth_is_open(
    settings, store, pki, caplog
):
    with caplog.at_level(logging.INFO, logger="pacsbridge"):
        announce(settings.model_copy(update={"auth": "open"}), store)
    [warning] = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "anyone who can reach port" in warning.getMessage()
    caplog.clear()
    secure = settings.model_copy(update={"auth": "required", "http_tls_certificate": pki / "s"})
    with caplog.at_level(logging.INFO, logger="pacsbridge"):
        announce(secure, store)
    assert "FHIR at https://" in caplog.text
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


# --- DICOM ---


@contextmanager
def dicom_listener(settings: Settings, store: Store, pki: Path, **changes: object):
    tls = settings.model_copy(update={"dicom_tls_certificate": pki / "server.pem",
                                      "dicom_tls_key": pki / "server.key", **changes})  # fmt: skip
    listener = DicomListener(store, tls)
    listener.start("127.0.0.1", 0)
    try:
        yield listener.port
    finally:
        listener.stop()


def echo(port: int, tls: ssl.SSLContext | None = None) -> int | None:
    """The C-ECHO status, or None when no association was established."""
    ae = AE(ae_title="TLSSCU")
    ae.add_requested_context(Verification)
    ae.acse_timeout = ae.network_timeout = ae.connection_timeout = 10
    tls_args = (tls, "127.0.0.1") if tls is not None else None
    assoc = ae.associate("127.0.0.1", port, ae_title="PACSBRIDGE", tls_args=tls_args)
    if not assoc.is_established:
        return None
    status = assoc.send_c_echo()
    assoc.release()
    return int(status.Status) if "Status" in status else None


def client_context(pki: Path, *, certificate: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    if certificate:
        context.load_cert_chain(pki / "client.pem", pki / "client.key")
    return context


def test_c_echo_over_tls_and_no_plain_association(settings, store, pki):
    with dicom_listener(settings, store, pki) as port:
        assert echo(port, client_context(pki, certificate=False)) == 0x0000
        assert echo(port) is None


def test_a_silent_peer_does_not_hold_the_door(settings, store, pki):
    """The handshake runs on the association's thread, not on pynetdicom's accept loop."""
    with (
        dicom_listener(settings, store, pki) as port,
        socket.create_connection(("127.0.0.1", port)),  # connects, says nothing
    ):
        time.sleep(0.2)  # let the listener accept it first
        assert echo(port, client_context(pki, certificate=False)) == 0x0000


def test_with_a_client_ca_a_peer_needs_a_certificate(settings, store, pki):
    with dicom_listener(settings, store, pki, dicom_tls_client_ca=pki / "ca.pem") as port:
        assert echo(port, client_context(pki, certificate=False)) is None
        assert echo(port, client_context(pki, certificate=True)) == 0x0000


def test_a_large_image_is_stored_over_tls(settings, store, pki, unique, tmp_path):
    path = fresh_ct(tmp_path, unique)
    image = dcmread(path)
    image.Rows = image.Columns = 1024  # 2 MiB of pixels: many TLS records
    image.PixelData = bytes(range(256)) * (1024 * 1024 * 2 // 256)
    image.save_as(path)
    with dicom_listener(settings, store, pki) as port:
        ae = AE(ae_title="MODALITY")
        ae.add_requested_context(CTImageStorage)
        assoc = ae.associate(
            "127.0.0.1",
            port,
            ae_title="PACSBRIDGE",
            tls_args=(client_context(pki, certificate=False), "127.0.0.1"),
        )
        assert assoc.is_established
        status = assoc.send_c_store(dcmread(path))
        assoc.release()
    assert status.Status == 0x0000
    uid = str(image.SOPInstanceUID)
    with store.reader() as reader:
        found = reader.connection.execute(
            select(dicom_instance).where(dicom_instance.c.sop_instance_uid == uid)
        ).all()
    assert len(found) == 1


DCMTK_ECHOSCU = "/usr/bin/echoscu"  # the venv's echoscu is pynetdicom's, without TLS


@pytest.mark.skipif(not Path(DCMTK_ECHOSCU).exists(),
                    reason="dcmtk is installed by .ci/run")  # fmt: skip
def test_dcmtk_echoscu_over_tls_with_a_client_certificate(settings, store, pki):
    with dicom_listener(settings, store, pki, dicom_tls_client_ca=pki / "ca.pem") as port:

        def dcmtk(*tls: str) -> subprocess.CompletedProcess[str]:
            command = [DCMTK_ECHOSCU, "-aec", "PACSBRIDGE", *tls, "+cf", str(pki / "ca.pem"),
                       "127.0.0.1", str(port)]  # fmt: skip
            return subprocess.run(command, capture_output=True, text=True, timeout=60,
                                  env={"PATH": "/usr/bin:/bin"})  # fmt: skip

        accepted = dcmtk("+tls", str(pki / "client.key"), str(pki / "client.pem"))
        assert accepted.returncode == 0, accepted.stderr
        refused = dcmtk("+tla")  # TLS without a client certificate
        assert refused.returncode != 0
