"""The state of each listener and destination, as the dashboard and health page show it.

Listeners are read as ``/healthz`` reads them (a ``server`` that is serving, its port and
connection count), so both pages always agree; the HTTP listener is up by definition,
since it answers this page. A destination's row is what ``/api/destinations`` gives,
plus destinations that still hold queued messages but are no longer configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from pacsbridge.config import Settings
from pacsbridge.store import outbox

LABELS = {
    "http": "HTTP: FHIR, DICOMweb, viewer, console",
    "mllp": "HL7 v2 over MLLP",
    "dicom": "DICOM (C-ECHO, worklist, MPPS, C-STORE)",
}


@dataclass(frozen=True)
class ListenerState:
    name: str
    label: str
    up: bool
    port: int | None
    connections: int | None
    tls: bool


def listener_states(listeners: dict[str, Any], settings: Settings) -> list[ListenerState]:
    states = [ListenerState("http", LABELS["http"], True, settings.http_port, None,
                            settings.http_tls_certificate is not None)]  # fmt: skip
    for name, listener in listeners.items():
        server = getattr(listener, "server", None)
        serving = getattr(server, "is_serving", None)
        up = server is not None and (serving() if callable(serving) else True)
        tls = getattr(settings, f"{name}_tls_certificate", None) is not None
        states.append(ListenerState(
            name, LABELS.get(name, name), up, listener.port if up else None,
            listener.connections if up else None, tls,
        ))  # fmt: skip
    return states


@dataclass(frozen=True)
class DestinationState:
    name: str
    address: str
    events: list[str]
    configured: bool
    paused: bool
    link: str  # the sender's word for its connection: connected, retrying, ...
    waiting: int
    dead: int
    oldest_waiting_seconds: float | None

    @property
    def healthy(self) -> bool:
        return self.configured and not self.paused and self.dead == 0


def destination_states(connection: Connection, settings: Settings, links: dict[str, str],
                       now: datetime) -> list[DestinationState]:  # fmt: skip
    queues = {q.destination: q for q in outbox.queue_states(connection)}
    paused = outbox.paused_destinations(connection)
    found = []
    for d in settings.destinations:
        queue = queues.pop(d.name, None)
        found.append(DestinationState(
            d.name, f"{d.host}:{d.port}", list(d.events), True, d.name in paused,
            links.get(d.name, "not sending"), queue.depth if queue else 0,
            queue.dead if queue else 0, queue.waiting_seconds(now) if queue else None,
        ))  # fmt: skip
    for name, queue in queues.items():  # removed from the configuration, messages still queued
        found.append(DestinationState(name, "not configured", [], False, name in paused,
                                      "not configured", queue.depth, queue.dead,
                                      queue.waiting_seconds(now)))  # fmt: skip
    return found


def sender_links(app_state: Any) -> dict[str, str]:
    """Each destination's link state from this process's sender, if it sends."""
    sender = getattr(app_state, "sender", None)
    return dict(sender.state) if sender is not None else {}
