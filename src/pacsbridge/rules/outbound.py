"""Workflow rules that fill the outbox: a change becomes a message for each destination.

They run inside the transaction of the change (``resource_changed``), so the message is
stored if and only if the change is. Each message is composed now, with its own MSH-10,
and never recomposed: a resend after a crash is the same bytes. A destination gets only
the events it names.

- report: a DiagnosticReport whose status becomes preliminary, final, amended (corrected,
  appended) or entered-in-error, or whose amended text changes → ORU^R01. Reports that
  arrived by HL7 are not sent back out.
- procedure-status: a Procedure (MPPS) that becomes in-progress, completed or stopped →
  ORM^O01 / OMI^O23 status.
- images: an ImagingStudy that is first linked to an order → images-available notice.
- patient: a Patient created or edited through FHIR → ADT^A04/A08; merged (a new
  ``replaced-by`` link) → ADT^A40. Patients that came by HL7 or DICOM are not echoed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pacsbridge.errors import Gone, UnknownKey
from pacsbridge.formats.fhir.imaging_order import study_instance_uid
from pacsbridge.formats.hl7v2.encode import new_control_id
from pacsbridge.outbox.messages import PROCEDURE_STATUS, REPORT_STATUS, order_status, oru
from pacsbridge.outbox.notices import images_available, patient_merge, patient_update
from pacsbridge.outbox.segments import Composed
from pacsbridge.profiles.destination import Destination, Event
from pacsbridge.store import outbox
from pacsbridge.store.hooks import Change, ChangeHook
from pacsbridge.store.transaction import Transaction

log = logging.getLogger("pacsbridge.rules")

_REPORT_CONTENT = ("conclusion", "presentedForm", "text", "result")
_REVISIONS = {"amended", "corrected", "appended"}
Compose = Callable[[Destination, str], Composed]
Resource = dict[str, Any]


def outbound_rules(destinations: list[Destination]) -> list[ChangeHook]:
    """The rules for these destinations; none when nothing is configured."""
    if not destinations:
        return []

    def outbound(transaction: Transaction, change: Change) -> None:
        rule = _RULES.get(change.resource_type)
        if rule is not None and change.resource is not None:
            rule(transaction, change, change.resource, destinations)

    return [outbound]


def _report(transaction: Transaction, change: Change, report: Resource,
            destinations: list[Destination]) -> None:  # fmt: skip
    if transaction.origin == "hl7v2" or report.get("status") not in REPORT_STATUS:
        return
    before = change.previous or {}
    revised = report["status"] in _REVISIONS and any(
        before.get(k) != report.get(k) for k in _REPORT_CONTENT)  # fmt: skip
    if before.get("status") == report["status"] and not revised:
        return
    found = _subject_and_order(transaction, change, report)
    if found:
        subject, patient, order = found
        _enqueue(transaction, change, destinations, "report", subject,
                 lambda d, cid: oru(d, cid, transaction.now, report, patient, order))  # fmt: skip


def _procedure(transaction: Transaction, change: Change, procedure: Resource,
               destinations: list[Destination]) -> None:  # fmt: skip
    status = procedure.get("status")
    if status not in PROCEDURE_STATUS or (change.previous or {}).get("status") == status:
        return
    found = _subject_and_order(transaction, change, procedure)
    if found:
        subject, patient, order = found
        _enqueue(transaction, change, destinations, "procedure-status", subject,
                 lambda d, cid: order_status(d, cid, transaction.now, procedure, patient,
                                             order))  # fmt: skip


def _imaging_study(transaction: Transaction, change: Change, study: Resource,
                   destinations: list[Destination]) -> None:  # fmt: skip
    if not study.get("basedOn") or (change.previous or {}).get("basedOn"):
        return  # only when the study is first linked to its order
    found = _subject_and_order(transaction, change, study)
    uid = study_instance_uid(study)
    if not found or not uid:
        return
    subject, patient, order = found
    endpoint = _wado_address(transaction, study)
    url = f"{endpoint}/studies/{uid}" if endpoint else ""
    _enqueue(transaction, change, destinations, "images", subject,
             lambda d, cid: images_available(d, cid, transaction.now, uid, url, patient,
                                             order))  # fmt: skip


def _patient(transaction: Transaction, change: Change, patient: Resource,
             destinations: list[Destination]) -> None:  # fmt: skip
    if transaction.origin != "fhir":
        return
    subject = f"Patient/{change.id}"
    old_links = {
        link.get("other", {}).get("reference")
        for link in (change.previous or {}).get("link", [])
        if link.get("type") == "replaced-by"
    }
    new_links = [link.get("other", {}).get("reference") for link in patient.get("link", [])
                 if link.get("type") == "replaced-by"]  # fmt: skip
    survivor_ref = next((r for r in new_links if r and r not in old_links), None)
    if survivor_ref and survivor_ref.startswith("Patient/"):
        survivor = _read(transaction, survivor_ref)
        if survivor is not None:
            _enqueue(transaction, change, destinations, "patient", survivor_ref,
                     lambda d, cid: patient_merge(d, cid, transaction.now, survivor,
                                                  patient))  # fmt: skip
        return
    created = change.previous is None
    _enqueue(transaction, change, destinations, "patient", subject,
             lambda d, cid: patient_update(d, cid, transaction.now, patient, created))  # fmt: skip


_RULES: dict[str, Callable[[Transaction, Change, Resource, list[Destination]], None]] = {
    "DiagnosticReport": _report,
    "Procedure": _procedure,
    "ImagingStudy": _imaging_study,
    "Patient": _patient,
}


def _enqueue(transaction: Transaction, change: Change, destinations: list[Destination],
             event: Event, partition_key: str, compose: Compose) -> None:  # fmt: skip
    source = f"{change.resource_type}/{change.id}/_history/{change.version_id}"
    for destination in destinations:
        if not destination.wants(event):
            continue
        composed = compose(destination, new_control_id())
        transaction.outbox_queued = True
        outbox.enqueue(transaction.connection, destination=destination.name,
                       partition_key=partition_key, event=event,
                       message_type=composed.message_type, control_id=composed.control_id,
                       source=source, payload=composed.payload, now=transaction.now)  # fmt: skip


def _subject_and_order(transaction: Transaction, change: Change, resource: Resource
                       ) -> tuple[str, Resource, Resource | None] | None:  # fmt: skip
    """The patient reference, the Patient and the first ServiceRequest of ``basedOn``."""
    subject = str((resource.get("subject") or {}).get("reference", ""))
    patient = _read(transaction, subject) if subject.startswith("Patient/") else None
    if patient is None:
        log.warning("%s/%s names no stored patient (%r): no outbound message",
                    change.resource_type, change.id, subject)  # fmt: skip
        return None
    orders = [r.get("reference", "") for r in resource.get("basedOn", [])]
    order = next((_read(transaction, r) for r in orders if r.startswith("ServiceRequest/")), None)
    return subject, patient, order


def _read(transaction: Transaction, reference: str) -> Resource | None:
    res_type, _, res_id = reference.partition("/")
    try:
        return transaction.read(res_type, res_id).resource
    except (UnknownKey, Gone):
        return None


def _wado_address(transaction: Transaction, study: Resource) -> str | None:
    for reference in study.get("endpoint", []):
        endpoint = _read(transaction, str(reference.get("reference", "")))
        code = ((endpoint or {}).get("connectionType") or {}).get("code")
        if code == "dicom-wado-rs":
            return str(endpoint["address"]).rstrip("/")  # type: ignore[index]
    return None
