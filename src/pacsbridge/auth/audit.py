"""The audit trail: every access to patient data, recorded in the background.

A face calls :meth:`AuditTrail.record` once per request that touched patient data. The
request must not wait for a database write of its own: the facts are taken on the spot
(so ``recorded`` is the moment of access) and queued; one writer thread stores the queue
in batches into the audit log (``store/audit_log.py``), from which administrators read
them as FHIR AuditEvents. The writer sleeps between batches instead of waiting on the
queue: a thread woken by every event would take the GIL from the event loop hundreds of
times a second. Nothing is dropped quietly: a full queue makes ``record`` wait, a failed
batch is retried, and whatever cannot be stored in the end is logged with its count.
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
from datetime import UTC, datetime

from pacsbridge.auth.audit_event import check_facts
from pacsbridge.auth.principal import Principal
from pacsbridge.store import Store
from pacsbridge.store.audit_log import AuditRecord, append

log = logging.getLogger("pacsbridge.audit")

MAX_LISTED = 20
"""References kept per event; a search touching more is still recorded by its query."""


class AuditTrail:
    """Queues access records and writes them in batches from one thread (:meth:`start`)."""

    def __init__(
        self,
        store: Store,
        *,
        enabled: bool = True,
        batch_size: int = 500,
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
        self._queue: queue.Queue[AuditRecord] = queue.Queue(maxsize=capacity)
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
        wait: bool = True,
    ) -> None:
        """Queue the record of one request; ``outcome`` is the HTTP status answered.

        Returns at once unless the queue is full; then it waits up to ``put_timeout`` on
        the caller's thread (the event loop, if called from there) for the writer, unless
        ``wait`` is false (refusals of anonymous callers: a flood of them must not stall
        the server for everyone else).
        """
        if not self.enabled:
            return
        check_facts(source, action)
        facts = AuditRecord(
            face=source, interaction=interaction, action=action, status=outcome,
            kind=principal.kind, subject=principal.subject, recorded=_now(),
            role=principal.role, client_id=principal.client_id,
            fhir_user=principal.fhir_user, address=principal.address, site=self.site,
            query=query, entities=list(dict.fromkeys(entities))[:MAX_LISTED],
            patients=list(dict.fromkeys(patients))[:MAX_LISTED],
        )  # fmt: skip
        try:
            self._queue.put_nowait(facts)
            return
        except queue.Full:
            if not wait:
                self.lost += 1
                log.error("the audit queue is full: the record of a refusal was lost",
                          extra={"audit_event": facts.__dict__})  # fmt: skip
                return
            log.warning("the audit queue is full: a request waits for the audit writer")
        try:  # waiting a little beats losing the record of an access
            self._queue.put(facts, timeout=self.put_timeout)
        except queue.Full:
            self.lost += 1
            log.error("an audit event was lost: the queue stayed full for %ss", self.put_timeout,
                      extra={"audit_event": facts.__dict__})  # fmt: skip

    def start(self) -> None:
        """Start the writer thread; events recorded before are written too."""
        if not self.enabled or self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write what is queued, then end the writer thread."""
        self._stopping.set()  # wakes the writer from its interval
        if self._thread is None:
            if self.enabled:
                self._run()  # never started: write what was recorded, here
            return
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.error("the audit writer did not finish within %ss", timeout)
        self._thread = None

    @property
    def queued(self) -> int:
        return self._queue.qsize()

    # --- the writer thread ---

    def _run(self) -> None:
        pending: list[AuditRecord] = []
        failures = 0
        while True:
            if not pending:
                pending = self._next_batch()
            if pending:
                try:
                    append(self.store.database, pending)
                    self.written += len(pending)
                    pending, failures = [], 0
                except Exception:
                    log.exception("could not write %d audit events; retrying", len(pending))
                    if self._stopping.is_set():
                        self._give_up(pending)
                        pending = []
                    else:  # the database may be back after a pause
                        failures += 1
                        self._stopping.wait(min(0.5 * 2**failures, 30.0))
                continue
            if self._stopping.is_set() and self._queue.empty():
                return

    def _next_batch(self) -> list[AuditRecord]:
        """Up to ``batch_size`` records, after sleeping ``interval`` unless a batch is ready.

        Once stopping, nothing is waited for: the queue is drained as fast as it writes.
        """
        if self._queue.qsize() < self.batch_size:
            self._stopping.wait(self.interval)
        batch: list[AuditRecord] = []
        while len(batch) < self.batch_size:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _give_up(self, batch: list[AuditRecord]) -> None:
        self.lost += len(batch)
        log.error("%d audit events could not be written before shutdown and are lost",
                  len(batch))  # fmt: skip


def _now() -> datetime:
    """Naive UTC, as the tables store it."""
    return datetime.now(UTC).replace(tzinfo=None)
