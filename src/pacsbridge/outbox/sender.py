"""The senders: outbox messages leave over MLLP, one ACK at a time per connection.

Each destination gets ``connections`` workers, each with its own kept-open connection.
A worker claims the next message (``store/outbox.py`` keeps one per patient in flight),
sends it, and waits for the ACK whose MSA-2 is that message's MSH-10; any other ACK on
the line (late, foreign) is skipped and logged, never taken for this one. A timeout
closes the connection, so a late ACK cannot arrive where the next message waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Histogram

from pacsbridge.formats.hl7v2.acknowledgement import AckError, Acknowledgement, read_ack
from pacsbridge.formats.hl7v2.mllp import MllpFramer, frame
from pacsbridge.profiles.destination import Destination
from pacsbridge.store import Store, Transaction, outbox
from pacsbridge.store.resources import utc_now

log = logging.getLogger("pacsbridge.outbox")
READ_SIZE = 64 * 1024
LEASE_MARGIN_SECONDS = 5.0  # a killed sender's message is taken again after timeout + this


class SenderMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.sent = Counter("pacsbridge_outbox_sent_total", "Outbound messages acknowledged",
                            ["destination"], registry=registry)  # fmt: skip
        self.failed = Counter("pacsbridge_outbox_failed_attempts_total",
                              "Outbound attempts that failed, by outcome",
                              ["destination", "outcome"], registry=registry)  # fmt: skip
        self.ack_seconds = Histogram(
            "pacsbridge_outbox_ack_seconds", "From sending a message to its ACK",
            ["destination"], registry=registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 30),
        )  # fmt: skip


class Connection:
    """One kept-open MLLP connection to a destination."""

    def __init__(self, destination: Destination) -> None:
        self.destination = destination
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.framer = MllpFramer()
        self.pending: list[bytes] = []

    async def exchange(self, payload: bytes, control_id: str) -> Acknowledgement:
        if self.writer is not None and (self.reader is None or self.reader.at_eof()
                                        or self.writer.is_closing()):  # fmt: skip
            await self.close()  # the peer hung up while the connection was idle
        if self.writer is None:
            await self._connect()
        assert self.writer is not None and self.reader is not None
        self.writer.write(frame(payload))
        await self.writer.drain()
        while True:
            ack = read_ack(await self._next_frame())
            if ack.control_id == control_id:
                return ack
            log.warning("%s: skipped an ACK for %r while waiting for %r",
                        self.destination.name, ack.control_id, control_id)  # fmt: skip

    async def _connect(self) -> None:
        d = self.destination
        context = ssl.create_default_context(cafile=d.tls_ca) if d.tls else None
        if context is not None and d.tls_certificate and d.tls_key:
            context.load_cert_chain(d.tls_certificate, d.tls_key)
        self.reader, self.writer = await asyncio.open_connection(d.host, d.port, ssl=context)
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.framer = MllpFramer()
        self.pending = []

    async def _next_frame(self) -> bytes:
        assert self.reader is not None
        while not self.pending:
            data = await self.reader.read(READ_SIZE)
            if not data:
                raise AckError("the destination closed the connection without an ACK")
            self.pending.extend(self.framer.feed(data))
        return self.pending.pop(0)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


class OutboxSender:
    """Runs the workers of every destination until stopped."""

    def __init__(
        self, store: Store, destinations: list[Destination], *,
        metrics: SenderMetrics | None = None, idle_seconds: float = 0.2,
    ) -> None:  # fmt: skip
        self.store = store
        self.destinations = destinations
        self.metrics = metrics or SenderMetrics(CollectorRegistry())
        self.idle_seconds = idle_seconds
        self.tasks: list[asyncio.Task[None]] = []
        self.state: dict[str, str] = {d.name: "idle" for d in destinations}
        self.wakeups: list[asyncio.Event] = []  # one per worker

    def start(self) -> None:
        """Start the workers; a commit that queues a message wakes them at once."""
        loop = asyncio.get_running_loop()

        def on_commit(transaction: Transaction) -> None:  # runs on a writer thread
            if transaction.outbox_queued:
                loop.call_soon_threadsafe(self._wake_all)

        self.store.hooks.committed.append(on_commit)
        self._unhook = lambda: self.store.hooks.committed.remove(on_commit)
        for destination in self.destinations:
            for number in range(destination.connections):
                name = f"outbox-{destination.name}-{number}"
                self.tasks.append(asyncio.create_task(self._work(destination), name=name))

    def _wake_all(self) -> None:
        for event in self.wakeups:
            event.set()

    async def stop(self) -> None:
        self._unhook()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()

    async def _work(self, destination: Destination) -> None:
        connection = Connection(destination)
        lease = destination.ack_timeout_seconds + LEASE_MARGIN_SECONDS
        wakeup = asyncio.Event()
        self.wakeups.append(wakeup)
        try:
            while True:
                wakeup.clear()  # before looking: a commit after this look wakes us again
                try:
                    entry = await asyncio.to_thread(outbox.claim_next, self.store.database,
                                                    destination.name, lease, utc_now())  # fmt: skip
                except Exception:  # the database is away: wait, the messages are safe there
                    log.exception("%s: cannot read the outbox", destination.name)
                    await asyncio.sleep(5)
                    continue
                if entry is None:
                    with contextlib.suppress(TimeoutError):  # or the next look: retries fall due
                        await asyncio.wait_for(wakeup.wait(), self.idle_seconds)
                    continue
                try:
                    await self._send(destination, connection, entry)
                except Exception:  # recording failed: the lease runs out, it goes again
                    log.exception("%s: message %s sent but not recorded", destination.name,
                                  entry.pk)  # fmt: skip
                    await asyncio.sleep(5)
        finally:
            await connection.close()

    async def _send(self, destination: Destination, connection: Connection,
                    entry: outbox.OutboxEntry) -> None:  # fmt: skip
        started_at: datetime = utc_now()
        clock = time.perf_counter()
        ack: Acknowledgement | None = None
        error: str | None = None
        try:
            ack = await asyncio.wait_for(connection.exchange(entry.payload, entry.control_id),
                                         destination.ack_timeout_seconds)  # fmt: skip
            outcome = ack.code or "error"
            if ack.code not in ("AA", "CA"):
                error = ack.text or f"answered {ack.code}"
        except TimeoutError:
            outcome, error = "timeout", f"no ACK within {destination.ack_timeout_seconds} s"
            await connection.close()
        except (OSError, ssl.SSLError, AckError) as exc:
            outcome, error = "error", str(exc) or type(exc).__name__
            await connection.close()
        seconds = time.perf_counter() - clock
        self.state[destination.name] = "up" if ack is not None else "failing"
        status = await asyncio.to_thread(
            outbox.record_attempt, self.store.database, entry, started_at=started_at,
            seconds=seconds, outcome=outcome, ack=ack.raw if ack else None, error=error,
            now=utc_now(), max_attempts=destination.max_attempts,
            retry_base=destination.retry_base_seconds, retry_max=destination.retry_max_seconds,
        )  # fmt: skip
        if outcome in ("AA", "CA"):
            self.metrics.sent.labels(destination.name).inc()
            self.metrics.ack_seconds.labels(destination.name).observe(seconds)
        else:
            self.metrics.failed.labels(destination.name, outcome).inc()
            log.warning("%s: message %s (%s) attempt %d: %s; now %s", destination.name,
                        entry.pk, entry.control_id, entry.attempts, error, status)  # fmt: skip
