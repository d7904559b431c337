"""The MLLP listener's own duties: allow-list, idle timeout, TLS with client certificates,
frames split across reads, and a frame over the size limit."""

from __future__ import annotations

import asyncio
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from pacsbridge.config import Settings
from pacsbridge.hl7v2.listener import MllpListener
from pacsbridge.hl7v2.receive import Receiver
from tests.conftest import free_port
from tests.hl7v2.test_receive import CR, FS, VT, hl7, msa, msh, read_frame


@contextmanager
def listening(store, settings: Settings) -> Iterator[int]:
    """A listener of its own, with these settings, on a free port."""
    listener = MllpListener(Receiver(store, []), settings)
    loop = asyncio.new_event_loop()
    port = free_port()
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(listener.start("127.0.0.1", port))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        yield port
    finally:
        asyncio.run_coroutine_threadsafe(listener.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def adt(unique: str, n: int = 0) -> bytes:
    return hl7(msh(f"L{n}-{unique}", "ADT^A08"), f"PID|1||L{unique}^^^HIS||DOE^JANE")


def test_addresses_outside_the_allow_list_are_disconnected(store, tmp_path):
    settings = Settings(data_dir=tmp_path, mllp_allow=["10.0.0.0/8"])
    with (
        listening(store, settings) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as s,
    ):
        s.settimeout(10)
        try:
            s.sendall(VT + adt("x") + FS + CR)
            assert s.recv(1024) == b""  # closed without an answer ...
        except ConnectionResetError:
            pass  # ... or reset, depending on timing


def test_idle_connections_are_closed(store, tmp_path):
    settings = Settings(data_dir=tmp_path, mllp_idle_timeout_seconds=0.3)
    with (
        listening(store, settings) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as s,
    ):
        s.settimeout(10)
        started = time.monotonic()
        assert s.recv(1024) == b""
        assert time.monotonic() - started < 5


def test_a_frame_split_over_many_reads_is_one_message(store, tmp_path, unique):
    settings = Settings(data_dir=tmp_path)
    with (
        listening(store, settings) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as s,
    ):
        framed = VT + adt(unique) + FS + CR
        for n in range(0, len(framed), 7):
            s.sendall(framed[n : n + 7])
            time.sleep(0.001)
        assert msa(read_frame(s))[1] == "AA"


def test_an_oversized_frame_is_dropped_and_the_connection_goes_on(store, tmp_path, unique):
    settings = Settings(data_dir=tmp_path, mllp_max_frame_bytes=4096)
    with (
        listening(store, settings) as port,
        socket.create_connection(("127.0.0.1", port), timeout=30) as s,
    ):
        s.sendall(VT + adt(unique, 1) + b"X" * 10000 + FS + CR)
        refused = read_frame(s)  # the oversized one: AR, addressed from its head
        assert msa(refused)[1:3] == ["AR", f"L1-{unique}"]
        s.sendall(VT + adt(unique, 2) + FS + CR)
        assert msa(read_frame(s))[1:3] == ["AA", f"L2-{unique}"]


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, made by openssl."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
             "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))  # fmt: skip
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
                 "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.csr"))  # fmt: skip
        ext = d / f"{name}.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1\n" if name == "server" else "")
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.pem"),
                 "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
                 "-extfile", str(ext), "-out", str(d / f"{name}.pem"))  # fmt: skip
    return d


def test_tls_with_client_certificates(store, tmp_path, pki, unique):
    settings = Settings(
        data_dir=tmp_path,
        mllp_tls_certificate=pki / "server.pem",
        mllp_tls_key=pki / "server.key",
        mllp_tls_client_ca=pki / "ca.pem",
    )
    with listening(store, settings) as port:
        context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        context.load_cert_chain(pki / "client.pem", pki / "client.key")
        with (
            socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
            context.wrap_socket(raw, server_hostname="127.0.0.1") as s,
        ):
            s.sendall(VT + adt(unique) + FS + CR)
            assert msa(read_frame(s))[1] == "AA"
        anonymous = ssl.create_default_context(cafile=str(pki / "ca.pem"))
        with (
            pytest.raises((ssl.SSLError, ConnectionError, AssertionError)),
            socket.create_connection(("127.0.0.1", port), timeout=30) as raw,
            anonymous.wrap_socket(raw, server_hostname="127.0.0.1") as s,
        ):
            s.sendall(VT + adt(unique, 3) + FS + CR)
            read_frame(s)


def test_a_thousand_idle_and_slow_connections_do_not_stop_the_others(store, tmp_path, unique):
    """1,000 connections that send nothing and 20 that trickle a frame a byte at a time
    (slow-loris) while a real sender's messages are each answered promptly."""
    settings = Settings(data_dir=tmp_path)
    with listening(store, settings) as port:
        idle = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(1000)]
        slow = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(20)]
        stop = threading.Event()

        def trickle() -> None:
            frame = VT + adt(f"slow{unique}") + b"X" * 100_000
            for n in range(len(frame)):
                if stop.wait(0.05):
                    return
                for s in slow:
                    s.sendall(frame[n : n + 1])

        trickler = threading.Thread(target=trickle, daemon=True)
        trickler.start()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
                s.settimeout(10)
                for n in range(20):
                    started = time.monotonic()
                    s.sendall(VT + adt(unique, n) + FS + CR)
                    assert msa(read_frame(s))[1:3] == ["AA", f"L{n}-{unique}"]
                    assert time.monotonic() - started < 2
        finally:
            stop.set()
            trickler.join(5)
            for s in idle + slow:
                s.close()


def test_a_new_patient_sent_on_many_connections_at_once_is_created_once(store, tmp_path, unique):
    """ADT and order feeds often announce a new patient at the same moment. On PostgreSQL
    several groups commit at once (and several processes may share the database): without
    a lock on the patient's identifier each would create its own Patient."""
    connections, rounds = 8, 6
    with listening(store, Settings(data_dir=tmp_path)) as port:
        for round_number in range(rounds):
            barrier = threading.Barrier(connections)
            answers: list[list[str]] = []

            def send(n: int, round_number: int = round_number, barrier=barrier,
                     answers=answers) -> None:  # fmt: skip
                frame = hl7(msh(f"P{round_number}-{n}-{unique}", "ADT^A04"),
                            f"PID|1||N{round_number}{unique}^^^HIS||DOE^JANE")  # fmt: skip
                with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                    barrier.wait(10)
                    sock.sendall(VT + frame + FS + CR)
                    answers.append(msa(read_frame(sock)))

            threads = [threading.Thread(target=send, args=(n,)) for n in range(connections)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert [answer[1] for answer in answers] == ["AA"] * connections, answers
    with store.transaction("test") as transaction:
        for round_number in range(rounds):
            found = transaction.find_by_identifier("Patient", f"N{round_number}{unique}")
            assert len(found) == 1, (round_number, found)


def test_senders_that_keep_sending_share_one_commit(store, tmp_path, unique, monkeypatch):
    """Eight HIS connections, each sending its next message as soon as it has the ACK: with
    one group in flight (SQLite) they must share commits, not split into a group of seven
    and a group of the one that came meanwhile (twice the commits)."""
    if store.database.is_postgresql:
        pytest.skip("PostgreSQL runs several groups at once: groups there are not gathered")
    sizes: list[int] = []
    plain = Receiver.receive_group

    def recording(self, frames, **options):
        sizes.append(len(frames))
        return plain(self, frames, **options)

    monkeypatch.setattr(Receiver, "receive_group", recording)
    connections, per_connection = 8, 15
    with listening(store, Settings(data_dir=tmp_path)) as port:
        barrier = threading.Barrier(connections)
        codes: list[str] = []

        def send(n: int) -> None:
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                barrier.wait(10)
                for m in range(per_connection):
                    frame = hl7(msh(f"G{n}-{m}-{unique}", "ADT^A08"),
                                f"PID|1||G{n}{unique}^^^HIS||DOE^JANE")  # fmt: skip
                    sock.sendall(VT + frame + FS + CR)
                    codes.append(msa(read_frame(sock))[1])

        threads = [threading.Thread(target=send, args=(n,)) for n in range(connections)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert codes == ["AA"] * connections * per_connection
    assert sum(sizes) == connections * per_connection
    settled = sizes[len(sizes) // 4 :]  # once every sender is sending
    assert sum(settled) / len(settled) >= 6, sizes
