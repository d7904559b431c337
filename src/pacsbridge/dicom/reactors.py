"""pynetdicom's two threads per association, woken by their work instead of a 1 ms poll.

Each association has a DUL thread (PDUs in from the socket, out to it) and an association
thread (DIMSE messages to the handlers). Each loops, and when it finds nothing to do it
sleeps 1 ms. A C-STORE passes the threads three times (request in, to the handler, the
answer out), so it waited about 1.5 ms in those sleeps: a third of the time Orthanc takes
for a whole C-STORE. The sleeps are ``time.sleep`` calls inside ``pynetdicom.association``
and ``pynetdicom.dul``; :func:`install` gives those two modules a ``time`` whose ``sleep``,
called from one of these threads, returns as soon as that thread's work arrives (never
later than asked): the association thread waits on its DIMSE message queue, the DUL
thread on its socket and on a queue of PDUs to send that signals a file descriptor
(:func:`wake_on_send`, set when the connection opens). Every other sleep is a sleep.
"""

from __future__ import annotations

import contextlib
import queue
import select
import socket
import threading
import time
import weakref
from types import ModuleType
from typing import Any

import pynetdicom.association
import pynetdicom.dul
from pynetdicom.association import Association
from pynetdicom.dul import DULServiceProvider

REACTOR_SLEEP = 0.001  # pynetdicom's idle poll, in both loops


class WakingQueue(queue.Queue):  # type: ignore[type-arg]
    """A queue that also makes a socket readable when something is put in it."""

    def __init__(self) -> None:
        super().__init__()
        self.readable, self._writable = socket.socketpair()
        self.readable.setblocking(False)
        self._writable.setblocking(False)
        weakref.finalize(self, _close, self.readable, self._writable)

    def _put(self, item: Any) -> None:
        super()._put(item)
        with contextlib.suppress(OSError):  # full (the reader is behind) or closed
            self._writable.send(b"\0")

    def drain(self) -> None:
        try:
            while self.readable.recv(4096):
                pass
        except OSError:
            pass


def _close(*sockets: socket.socket) -> None:
    for each in sockets:
        each.close()


def wake_on_send(dul: DULServiceProvider) -> None:
    """Before the association starts: PDUs queued to send wake the DUL thread."""
    if dul.to_provider_queue.empty():
        dul.to_provider_queue = WakingQueue()


def _sleep(seconds: float) -> None:
    thread = threading.current_thread()
    if seconds == REACTOR_SLEEP:
        if isinstance(thread, Association):
            _wait_for_message(thread, seconds)
            return
        if isinstance(thread, DULServiceProvider) and _wait_for_io(thread, seconds):
            return
    time.sleep(seconds)


def _wait_for_message(association: Association, seconds: float) -> None:
    messages = association.dimse.msg_queue
    with messages.not_empty:
        if not messages.queue:
            messages.not_empty.wait(seconds)


def _wait_for_io(dul: DULServiceProvider, seconds: float) -> bool:
    """Wait until the socket has data or a PDU is queued to send; False if it cannot."""
    outgoing = dul.to_provider_queue
    raw = getattr(dul.socket, "socket", None)
    if not isinstance(outgoing, WakingQueue) or raw is None:
        return False
    try:
        if outgoing.queue or _pending_tls(raw):  # work already waiting
            return True
        ready, _, _ = select.select([raw, outgoing.readable], [], [], seconds)
    except (OSError, ValueError):  # closed meanwhile: the reactor finds out itself
        return False
    if outgoing.readable in ready:
        outgoing.drain()
    return True


def _pending_tls(raw: Any) -> bool:
    pending = getattr(raw, "pending", None)
    return bool(pending and pending())


class _ReactorTime(ModuleType):
    """``time``, but with the reactors' sleep."""

    def __init__(self) -> None:
        super().__init__("time")
        self.sleep = _sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def install() -> None:
    """Give pynetdicom's association and DUL modules the waking ``sleep`` (once)."""
    for module in (pynetdicom.association, pynetdicom.dul):
        if not isinstance(module.time, _ReactorTime):
            module.time = _ReactorTime()
