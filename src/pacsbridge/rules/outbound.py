"""Workflow rules that fill the outbox: a change becomes a message for each destination.

They run inside the transaction of the change (``resource_changed``), so the message is
stored if and only if the change is. Each message is composed now, with its own MSH-10,
and never recomposed: a resend after a crash is the same bytes.

- report: a DiagnosticReport whose status becomes preliminary, final, amended (corrected,
  appended) or entered-in-error, or whose amended text changes → ORU^R01. Reports that
  arrived by HL7 are not sent back out.
- procedure-status: a Procedure (MPPS) that becomes in-progress, completed or stopped →
  ORM^O01 / OMI^O23 status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pacsbridge.errors import Gone, UnknownKey
from pacsbridge.formats.hl7v2.encode import new_control_id
from pacsbridge.outbox.messages import PROCEDURE_STATUS, REPORT_STATUS, order_status, oru
from pacsbridge.outbox.segments import Composed
from pacsbridge.profiles.destination import Destination, Event
from pacsbridge.store import outbox
from pacsbridge.store.transaction import Change, ChangeHook, Transaction

log = logging.getLogger("pacsbridge.rules")

_REPORT_CONTENT = ("conclusion", "presentedForm", "text", "result")
_REVISIONS = {"amended", "corrected", "appended"}


def outbound_rules(destinations: list[Destination]) -> list[ChangeHook]:
    """The rules for these destinations; none when nothing is configured."""
    if not destinations:
        return []
    return [_report_rule(destinations), _procedure_rule(destinations)]


def _report_rule(destinations: list[Destination]) -> ChangeHook:
    def report_to_oru(transaction: Transaction, change: Change) -> None:
        report = change.resource
        if change.resource_type != "DiagnosticReport" or report is None:
            return
        if transaction.origin == "hl7v2" or report.get("status") not in REPORT_STATUS:
            return
        before = change.previous or {}
        changed_status = before.get("status") != report["status"]
        revised = report["status"] in _REVISIONS and any(
            before.get(k) != report.get(k) for k in _REPORT_CONTENT)  # fmt: skip
        if changed_status or revised:

            def compose(d: Destination, cid: str, p: dict[str, Any],
                        o: dict[str, Any] | None) -> Composed:  # fmt: skip
                return oru(d, cid, transaction.now, report, p, o)

            _enqueue(transaction, change, destinations, "report", report, compose)

    return report_to_oru


def _procedure_rule(destinations: list[Destination]) -> ChangeHook:
    def procedure_to_status(transaction: Transaction, change: Change) -> None:
        procedure = change.resource
        if change.resource_type != "Procedure" or procedure is None:
            return
        status = procedure.get("status")
        if status not in PROCEDURE_STATUS or (change.previous or {}).get("status") == status:
            return

        def compose(
            d: Destination, cid: str, p: dict[str, Any], o: dict[str, Any] | None
        ) -> Composed:
            return order_status(d, cid, transaction.now, procedure, p, o)

        _enqueue(transaction, change, destinations, "procedure-status", procedure, compose)

    return procedure_to_status


Compose = Callable[[Destination, str, dict[str, Any], dict[str, Any] | None], Composed]


def _enqueue(transaction: Transaction, change: Change, destinations: list[Destination],
             event: Event, resource: dict[str, Any], compose: Compose) -> None:  # fmt: skip
    wanting = [d for d in destinations if d.wants(event)]
    subject = (resource.get("subject") or {}).get("reference", "")
    if not wanting or not subject.startswith("Patient/"):
        return
    try:
        patient = transaction.read("Patient", subject.removeprefix("Patient/")).resource
    except (UnknownKey, Gone):
        log.warning("%s/%s names %s, which is not stored: no %s message", change.resource_type,
                    change.id, subject, event)  # fmt: skip
        return
    order = _order(transaction, resource)
    source = f"{change.resource_type}/{change.id}/_history/{change.version_id}"
    for destination in wanting:
        composed = compose(destination, new_control_id(), patient, order)
        outbox.enqueue(transaction.connection, destination=destination.name,
                       partition_key=subject, event=event,
                       message_type=composed.message_type, control_id=composed.control_id,
                       source=source, payload=composed.payload, now=transaction.now)  # fmt: skip


def _order(transaction: Transaction, resource: dict[str, Any]) -> dict[str, Any] | None:
    for reference in resource.get("basedOn", []):
        ref = str(reference.get("reference", ""))
        if ref.startswith("ServiceRequest/"):
            try:
                return transaction.read("ServiceRequest", ref.split("/", 1)[1]).resource
            except (UnknownKey, Gone):
                return None
    return None
