"""The audit trail: every access to patient data, written as AuditEvents in the background.

A face calls :meth:`AuditTrail.record` once per request that touched patient data. The
request must not wait for a database write of its own, nor open a second transaction: the
event is built on the spot (so ``recorded`` is the moment of access) and queued; one
writer thread stores the queue in batches, one transaction per batch. Nothing is dropped
quietly: a full queue makes ``record`` wait, a failed batch is retried, and whatever
cannot be stored in the end is logged as an error with its count. Events are appended
without validation (``Transaction.append``): ``audit_event`` builds them, and its tests
validate every shape against the R4 definitions.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import threading
import time
from typing import Any

from pacsbridge.auth.audit_event import build_audit_event
from pacsbridge.auth.principal import Principal
from pacsbridge.store import Store

log = logging.getLogger("pacsbridge.audit")

_WAKE = object()  # put by stop() so that the writer does not sleep out its interval


class AuditTrail:
    """Queues AuditEvents and writes them in batches from one thread (:meth:`start`)."""

    def __init__(
        self,
        store: Store,
        *,
        enabled: bool = True,
        batch_size: int = 200,
        interval: float = 0.5,
        capacity: int = 100_000,
        put_timeout: float = 5.0,
        site: str | None = None,
    ) -> None:
        self.store, self.enabled = store, enabled
        self.batch_size, self.interval, self.put_timeout = batch_size, interval, put_timeout
        self.site = site if site is not None else socket.gethostname()
        self.written = 0
        self.lost = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=capacity)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self,
        principal: Principal,
        *,
        source: str,
        interaction: str,
        action: str,
        entities: list[str],
        patients: list[str],
        outcome: int,
        query: str | None = None,
    ) -> None:
        """Queue the AuditEvent of one request; see ``audit_event.build_audit_event``.

        Returns at once unless the queue is full; then it waits up to ``put_timeout`` on
        the caller's thread (the event loop, if called from there) for the writer.
        """
        if not self.enabled:
            return
        event = build_audit_event(
            principal, source=source, interaction=interaction, action=action,
            entities=entities, patients=patients, outcome=outcome, query=query, site=self.site,
        )  # fmt: skip
        try:
            self._queue.put_nowait(event)
            return
        except queue.Full:
            log.warning("the audit queue is full: a request waits for the audit writer")
        try:  # waiting a little beats losing the record of an access
            self._queue.put(event, timeout=self.put_timeout)
        except queue.Full:
            self.lost += 1
            log.error("an audit event was lost: the queue stayed full for %ss", self.put_timeout,
                      extra={"audit_event": event})  # fmt: skip

    def start(self) -> None:
        """Start the writer thread; events recorded before are written too."""
        if not self.enabled or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then end the writer thread."""
        self._stopping.set()
        if self._thread is None:
            if self.enabled:
                self._run()  # never started: write what was recorded, here
            return
        with contextlib.suppress(queue.Full):  # a full queue keeps the writer awake anyway
            self._queue.put_nowait(_WAKE)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the audit writer did not finish within %ss", timeout)
        self._thread = None

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    # --- the writer thread ---

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        failures = 0
        while True:
            if not pending:
                pending = self._next_batch()
            if pending:
                pending = self._write(pending)
                if not pending:
                    failures = 0
                elif self._stopping.is_set():
                    self._give_up(pending)
                    pending = []
                else:  # the database may be back after a pause
                    failures += 1
                    self._stopping.wait(min(0.5 * 2**failures, 30.0))
                continue
            if self._stopping.is_set() and self._queue.empty():
                return

    def _next_batch(self) -> list[dict[str, Any]]:
        """Up to ``batch_size`` events: the first waited for, the others until ``interval``.

        Once stopping, nothing is waited for: the queue is drained as fast as it writes.
        """
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.interval
        while len(batch) < self.batch_size:
            wait = 0.0 if self._stopping.is_set() else deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not _WAKE:
                batch.append(item)
        return batch

    def _write(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Store ``batch`` in one transaction; what is left to retry after a database error."""
        try:
            self._commit(batch)
            return []
        except Exception:
            log.exception("could not write %d audit events; retrying", len(batch))
            return batch

    def _commit(self, batch: list[dict[str, Any]]) -> None:
        # append, not create: a read audited must not cost a write's worth of work (no
        # validation, no hooks, a few statements per batch); tests validate the builder
        with self.store.transaction("audit") as transaction:
            transaction.append(batch)
        self.written += len(batch)

    def _give_up(self, batch: list[dict[str, Any]]) -> None:
        self.lost += len(batch)
        log.error("%d audit events could not be written before shutdown and are lost",
                  len(batch))  # fmt: skip
