"""The DICOM listener: one pynetdicom AE, its presentation contexts, and its handlers.

Verification (C-ECHO), Modality Worklist (C-FIND, ``worklist.py``), MPPS (N-CREATE and
N-SET, ``mpps.py``) and Storage (C-STORE, ``store/instances.py``, which STOW-RS will share).
With a certificate configured the port speaks TLS only (``tls.py``).

Events are bound here in one list (pynetdicom's intervention events: the handler's
return is the answer). Handlers run on pynetdicom's association threads and use the
store's synchronous reader. Every socket gets TCP_NODELAY: without it small DIMSE
messages wait ~40 ms each for Nagle's algorithm; and reads whole PDUs (``recv_exactly``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import types
from collections.abc import Iterator
from typing import Any

from pydicom.dataset import Dataset
from pynetdicom import AE, _config, evt
from pynetdicom.transport import ThreadedAssociationServer

from pacsbridge.config import Settings
from pacsbridge.dicom import mpps, reactors, store_response
from pacsbridge.dicom.contexts import supported_contexts
from pacsbridge.dicom.refresh import StudyRefresher
from pacsbridge.dicom.status import status_for
from pacsbridge.dicom.tls import server_context
from pacsbridge.dicom.worklist import WorklistOptions, find
from pacsbridge.store import Store
from pacsbridge.store.instances import store_instance

log = logging.getLogger("pacsbridge.dicom")

PENDING = 0xFF00
SUCCESS = 0x0000
CANCELLED = 0xFE00


class DicomListener:
    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings
        self.options = {
            peer.ae_title: WorklistOptions(peer.worklist_station_from_calling_ae,
                                           peer.worklist_fill_empty_keys)
            for peer in settings.dicom_peers
        }  # fmt: skip
        self.ae = AE(ae_title=settings.ae_title)
        self.contexts = supported_contexts()  # every storage class in every syntax
        if not logging.getLogger("pynetdicom").isEnabledFor(logging.DEBUG):
            # pynetdicom's standard handlers format a log entry for every PDU and DIMSE
            # message, and log each C-STORE at INFO: below debug, our own lines suffice.
            _config.LOG_HANDLER_LEVEL = "none"
        reactors.install()  # pynetdicom's threads woken by their work, not a 1 ms poll
        store_response.install()  # C-STORE answers encoded without pydicom
        self.ae.maximum_pdu_size = 0  # no limit: fewer, larger PDUs for images
        # Each association is a thread; a peer that connects and says nothing holds one
        # until the ARTIM timer (acse_timeout) drops it, so both are settings.
        self.ae.maximum_associations = settings.dicom_max_associations
        self.ae.acse_timeout = settings.dicom_acse_timeout_seconds
        if settings.dicom_allowed_aets:
            self.ae.require_calling_aet = list(settings.dicom_allowed_aets)
        self.allowed = [ipaddress.ip_network(n, strict=False) for n in settings.dicom_allow]
        self.server: ThreadedAssociationServer | None = None
        self._stored: dict[int, set[str]] = {}  # studies stored per association
        self.refresher = StudyRefresher(store, settings.public_url("/dicomweb"))
        self._stored_lock = threading.Lock()

    def handlers(self) -> list[tuple[Any, Any]]:
        return [
            (evt.EVT_CONN_OPEN, self._on_connect),
            (evt.EVT_C_ECHO, _handle_echo),
            (evt.EVT_C_FIND, self._handle_find),
            (evt.EVT_N_CREATE, self._handle_n_create),
            (evt.EVT_N_SET, self._handle_n_set),
            (evt.EVT_C_STORE, self._handle_store),
            (evt.EVT_RELEASED, self._on_end),
            (evt.EVT_ABORTED, self._on_end),
            (evt.EVT_CONN_CLOSE, self._on_end),
        ]

    def start(self, host: str, port: int) -> None:
        tls = server_context(self.settings, timeout=self.ae.network_timeout or 60.0)
        self.server = self.ae.start_server((host, port), block=False, ssl_context=tls,
                                           evt_handlers=self.handlers(),
                                           contexts=self.contexts)  # fmt: skip
        log.info("DICOM listening on %s:%d as %s%s", host, self.port, self.settings.ae_title,
                 " (TLS)" if tls else "")  # fmt: skip

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return int(self.server.server_address[1])

    @property
    def connections(self) -> int:
        return len(self.server.active_associations) if self.server else 0

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server = None
        self.refresher.stop()

    def _on_connect(self, event: Any) -> None:
        """TCP_NODELAY, and the address allow-list: others are cut off before they speak."""
        _tune_socket(event)
        if not self.allowed:
            return
        address = event.address[0] if getattr(event, "address", None) else None
        try:
            allowed = address is not None and any(
                ipaddress.ip_address(address) in network for network in self.allowed
            )
        except ValueError:
            allowed = False
        if not allowed:
            log.warning("DICOM connection refused by the allow-list", extra={"peer": address})
            # Closed, not aborted: before the A-ASSOCIATE-RQ (state Sta2) PS3.8 has no
            # A-ABORT, and pynetdicom's state machine raised in the DUL thread.
            event.assoc.dul.socket.close()

    def _handle_find(self, event: Any) -> Iterator[tuple[int, Any]]:
        """Modality Worklist C-FIND: pending answers, then success (PS3.4 K.4.1.3)."""
        calling = event.assoc.requestor.ae_title.strip()
        options = self.options.get(calling, WorklistOptions())
        try:
            query = event.identifier
            for answer in find(self.store, query, calling, options):
                if event.is_cancelled:
                    yield CANCELLED, None
                    return
                yield PENDING, answer
        except Exception as exc:  # every failure leaves as a DICOM status
            if status_for(exc) == 0xC000:
                log.exception("worklist query failed", extra={"calling_ae": calling})
            yield status_for(exc), None
            return
        yield SUCCESS, None

    def _handle_n_create(self, event: Any) -> tuple[int, Any]:
        """MPPS N-CREATE: the step begins (PS3.4 F.7.2.1)."""
        uid = event.request.AffectedSOPInstanceUID
        try:
            mpps.create(self.store, str(uid), event.attribute_list)
        except Exception as exc:
            return _failure(exc, "MPPS N-CREATE"), None
        answer = Dataset()
        answer.PerformedProcedureStepStatus = mpps.IN_PROGRESS
        return SUCCESS, answer

    def _handle_n_set(self, event: Any) -> tuple[int, Any]:
        """MPPS N-SET: progress, or the end of the step (PS3.4 F.7.2.2)."""
        uid = event.request.RequestedSOPInstanceUID
        try:
            mpps.update(self.store, str(uid), event.modification_list)
        except Exception as exc:
            return _failure(exc, "MPPS N-SET"), None
        return SUCCESS, event.modification_list

    def _handle_store(self, event: Any) -> int:
        """C-STORE: the file as received, its index rows and the ImagingStudy (PS3.4 B)."""
        try:
            replace = self.settings.dicom_duplicate_policy == "replace"
            stored = store_instance(self.store, self.settings.data_dir, event.file_meta,
                                    event.request.DataSet.getvalue(), replace=replace)  # fmt: skip
        except Exception as exc:
            status = _failure(exc, "C-STORE")
            return 0xC000 if status == 0xA900 else status  # "cannot understand"
        with self._stored_lock:
            self._stored.setdefault(id(event.assoc), set()).add(stored.study_uid)
        return SUCCESS

    def _on_end(self, event: Any) -> None:
        """The association is over: the ImagingStudy of each study it stored is rebuilt
        (within a second, by ``refresh.py``)."""
        with self._stored_lock:
            studies = self._stored.pop(id(event.assoc), set())
        if studies:
            self.refresher.request(studies)


def _failure(exc: Exception, what: str) -> int:
    status = status_for(exc)
    if status == 0xC000:
        log.exception("%s failed", what)
    else:
        log.info("%s refused: %s", what, exc)
    return status


def _handle_echo(event: Any) -> int:
    return SUCCESS


def _tune_socket(event: Any) -> None:
    """TCP_NODELAY, whole-PDU reads, and a DUL thread woken by what it must send."""
    wrapper = getattr(event.assoc.dul, "socket", None)
    raw = getattr(wrapper, "socket", None)
    if isinstance(raw, socket.socket):
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        wrapper.recv = types.MethodType(recv_exactly, wrapper)
    reactors.wake_on_send(event.assoc.dul)


def recv_exactly(self: Any, count: int) -> bytearray:
    """``count`` bytes, or fewer if the peer closed: pynetdicom's ``AssociationSocket.recv``
    with one difference. pynetdicom reads 4 KiB per call, so a 128 KiB PDU (dcmtk's size)
    took 32 calls, each taking the GIL back from the thread that stores; this fills one
    buffer in as few calls as the kernel allows (large C-STORE: +10% instances/s)."""
    buffer = bytearray(count)
    view = memoryview(buffer)
    done = 0
    while done < count:
        read = self.socket.recv_into(view[done:], count - done)
        if not read:
            return buffer[:done]
        done += read
    return buffer
