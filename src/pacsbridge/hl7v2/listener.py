"""The MLLP listener (asyncio): frames in, ACKs out, many connections at once.

Framing lives in ``formats/hl7v2/mllp.py``; the meaning in ``receive.py``, run on worker
threads so the event loop never waits for the database. Messages of one connection are
handled in order (HL7 senders rely on it); connections are handled concurrently.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import ssl
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from pacsbridge.config import Settings
from pacsbridge.formats.hl7v2.mllp import FrameTooLarge, MllpFramer, frame
from pacsbridge.hl7v2.receive import Frame, Receiver

log = logging.getLogger("pacsbridge.hl7v2")
READ_SIZE = 64 * 1024


MAX_GROUP = 64
GATHER_SECONDS = 0.001  # how long a group may wait for the other active senders
ACTIVE_SECONDS = 0.05  # a connection that sent within this is expected to send again


class CommitQueue:
    """Group commit: frames that arrive while a commit runs are stored by the next one.

    With one sender every message is committed alone (no added latency); with many, each
    commit (one fsync) carries a whole group. ``in_flight`` groups run at once: one for
    SQLite (one writer at a time; more only wait on its lock), several for PostgreSQL,
    whose time goes to round trips that other groups can overlap.

    With one group in flight, the senders answered by a commit send their next messages
    just after the next group has left with the one that came meanwhile: groups of 7 and 1
    in turn with 8 senders, twice the commits. So a group waits up to ``GATHER_SECONDS``
    for the connections that sent in the last ``ACTIVE_SECONDS``; a lone sender never
    waits.
    """

    def __init__(self, receiver: Receiver, executor: ThreadPoolExecutor, in_flight: int = 1):
        self.receiver = receiver
        self.executor = executor
        self.in_flight = in_flight
        self.waiting: list[tuple[Frame, asyncio.Future[bytes | None]]] = []
        self.draining = 0
        self.last_sent: dict[str | None, float] = {}  # connection → when it last sent
        self.gathered: asyncio.Event | None = None  # set when the awaited senders are in
        self.expected = 0

    async def submit(self, frame: Frame) -> bytes | None:
        loop = asyncio.get_running_loop()
        self.last_sent[frame.peer] = loop.time()
        future: asyncio.Future[bytes | None] = loop.create_future()
        self.waiting.append((frame, future))
        if self.gathered is not None and len(self.waiting) >= self.expected:
            self.gathered.set()
        if self.draining < self.in_flight:
            self.draining += 1
            loop.create_task(self._drain())
        return await future

    async def _gather(self) -> None:
        """Wait briefly until every recently active connection has a frame waiting."""
        now = asyncio.get_running_loop().time()
        for peer, sent in list(self.last_sent.items()):
            if now - sent > ACTIVE_SECONDS:
                del self.last_sent[peer]
        self.expected = min(len(self.last_sent), MAX_GROUP)
        if len(self.waiting) >= self.expected:
            return
        self.gathered = asyncio.Event()
        try:
            await asyncio.wait_for(self.gathered.wait(), GATHER_SECONDS)
        except TimeoutError:
            pass
        finally:
            self.gathered = None

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self.waiting:
                if self.in_flight == 1:
                    await self._gather()
                group, self.waiting = self.waiting[:MAX_GROUP], self.waiting[MAX_GROUP:]
                frames = [frame for frame, _ in group]
                try:
                    answers = await loop.run_in_executor(
                        self.executor, self.receiver.receive_group, frames
                    )
                except Exception as exc:  # receive_group answers by itself; this is a bug
                    for _, future in group:
                        future.set_exception(exc)
                    continue
                for (_, future), answer in zip(group, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        finally:
            self.draining -= 1


class MllpListener:
    def __init__(self, receiver: Receiver, settings: Settings) -> None:
        self.receiver = receiver
        self.settings = settings
        self.allowed = [ipaddress.ip_network(n, strict=False) for n in settings.mllp_allow]
        in_flight = 4 if receiver.store.database.is_postgresql else 1
        self.executor = ThreadPoolExecutor(max_workers=in_flight, thread_name_prefix="mllp")
        self.commits = CommitQueue(receiver, self.executor, in_flight)
        self.server: asyncio.Server | None = None
        self.connections = 0

    async def start(self, host: str, port: int) -> None:
        self.server = await asyncio.start_server(
            self._serve, host, port, ssl=tls_context(self.settings), limit=READ_SIZE * 4,
            reuse_address=True,
        )  # fmt: skip
        names = ", ".join(str(s.getsockname()) for s in self.server.sockets)
        log.info("MLLP listening on %s%s", names, " (TLS)" if self.server_tls else "")

    @property
    def server_tls(self) -> bool:
        return self.settings.mllp_tls_certificate is not None

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return int(self.server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
        self.executor.shutdown(wait=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        address = f"{peer[0]}:{peer[1]}" if peer else "unknown"
        if not _allowed(peer[0] if peer else None, self.allowed):
            log.warning("MLLP connection refused by the allow-list", extra={"peer": address})
            writer.close()
            return
        self.connections += 1
        framer = MllpFramer(max_frame=self.settings.mllp_max_frame_bytes)
        try:
            while True:
                try:
                    data = await asyncio.wait_for(
                        reader.read(READ_SIZE), self.settings.mllp_idle_timeout_seconds
                    )
                except TimeoutError:
                    log.info("MLLP connection idle, closed", extra={"peer": address})
                    break
                if not data:
                    break
                try:
                    payloads = framer.feed(data)
                except FrameTooLarge as exc:  # dropped; the frames around it still count
                    log.warning("MLLP frame too large: %s", exc, extra={"peer": address})
                    refusal = await asyncio.get_running_loop().run_in_executor(
                        self.executor, self.receiver.refuse_oversized, exc, address
                    )
                    if refusal:
                        writer.write(frame(refusal))
                    payloads = framer.feed(b"")
                for payload in payloads:
                    answer = await self.commits.submit(Frame(payload, address))
                    if answer:
                        writer.write(frame(answer))
                        await writer.drain()
        except (ConnectionError, ssl.SSLError) as exc:
            log.info("MLLP connection ended: %s", exc, extra={"peer": address})
        finally:
            self.connections -= 1
            writer.close()


def _allowed(host: str | None, networks: Sequence[ipaddress._BaseNetwork]) -> bool:
    if not networks:
        return True
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    """Server TLS from the settings; client certificates required when a CA is given."""
    if settings.mllp_tls_certificate is None or settings.mllp_tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(settings.mllp_tls_certificate, settings.mllp_tls_key)
    if settings.mllp_tls_client_ca is not None:
        context.load_verify_locations(settings.mllp_tls_client_ca)
        context.verify_mode = ssl.CERT_REQUIRED
    return context
