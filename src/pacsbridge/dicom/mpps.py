"""Modality Performed Procedure Step SCP (PS3.4 Annex F): the step moves the order.

N-CREATE must carry IN PROGRESS (else 0x0106); N-SET is taken only while IN PROGRESS;
COMPLETED and DISCONTINUED are final (a later N-SET gets 0x0110); an unknown instance
gets 0x0112. The step is linked to its order through the Scheduled Step Attributes
Sequence (accession number, study instance UID). Each step is a FHIR Procedure; the
worklist step and the ServiceRequest follow it in the same transaction, so their
history is the event the outbound side will tell the HIS about.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from pydicom.dataset import Dataset

from pacsbridge import errors
from pacsbridge.formats.dicom.dates import fhir_datetime
from pacsbridge.formats.fhir.imaging_order import (
    DICOM_UID_SYSTEM,
    identifier_of_type,
    read_step,
    study_instance_uid,
    write_step,
)
from pacsbridge.store import Store, Transaction
from pacsbridge.store.resources import StoredResource

IN_PROGRESS, COMPLETED, DISCONTINUED = "IN PROGRESS", "COMPLETED", "DISCONTINUED"
# MPPS status -> (Procedure.status, SPS status, ServiceRequest.status)
FOLLOWS = {
    IN_PROGRESS: ("in-progress", "STARTED", "active"),
    COMPLETED: ("completed", "COMPLETED", "completed"),
    DISCONTINUED: ("stopped", "DISCONTINUED", "revoked"),
}
FINAL_PROCEDURE = {"completed", "stopped"}


class MppsError(errors.PacsbridgeError):
    """A refusal with its PS3.4 F.7 status."""

    def __init__(self, text: str, status: int, location: str | None = None) -> None:
        super().__init__(text, location)
        self.dicom_status = status


def create(store: Store, instance_uid: str, attributes: Dataset) -> StoredResource:
    status = str(attributes.get("PerformedProcedureStepStatus", "")).strip()
    if status != IN_PROGRESS:
        raise MppsError(f"N-CREATE needs status IN PROGRESS, not {status!r}", 0x0106,
                        "PerformedProcedureStepStatus")  # fmt: skip
    with store.transaction("dicom") as transaction:
        if _procedure(transaction, instance_uid) is not None:
            raise MppsError(f"MPPS {instance_uid} exists already", 0x0111)
        order = _order(transaction, attributes)
        procedure: dict[str, Any] = {
            "resourceType": "Procedure",
            "identifier": [{"system": DICOM_UID_SYSTEM, "value": f"urn:oid:{instance_uid}"}],
            "status": "in-progress",
            "subject": _subject(transaction, order, attributes),
        }
        if order is not None:
            procedure["basedOn"] = [{"reference": f"ServiceRequest/{order.id}"}]
            if order.resource.get("code"):
                procedure["code"] = order.resource["code"]
        started = _moment(attributes, "PerformedProcedureStepStart")
        if started:
            procedure["performedPeriod"] = {"start": started}
        stored = transaction.create(procedure)
        if order is not None:
            _follow(transaction, order, IN_PROGRESS)
        return stored


def update(store: Store, instance_uid: str, modifications: Dataset) -> StoredResource:
    with store.transaction("dicom") as transaction:
        stored = _procedure(transaction, instance_uid)
        if stored is None:
            raise MppsError(f"MPPS {instance_uid} is not known", 0x0112)
        procedure = dict(stored.resource)
        if procedure["status"] in FINAL_PROCEDURE:
            raise MppsError(f"MPPS {instance_uid} is final and may no longer be updated", 0x0110)
        status = str(modifications.get("PerformedProcedureStepStatus", IN_PROGRESS)).strip()
        if status not in FOLLOWS:
            raise MppsError(f"{status!r} is not an MPPS status", 0x0106,
                            "PerformedProcedureStepStatus")  # fmt: skip
        procedure["status"] = FOLLOWS[status][0]
        ended = _moment(modifications, "PerformedProcedureStepEnd")
        if ended:
            procedure["performedPeriod"] = {**procedure.get("performedPeriod", {}), "end": ended}
        updated = transaction.update(procedure)[0]
        for reference in procedure.get("basedOn", []):
            order_id = reference.get("reference", "").removeprefix("ServiceRequest/")
            # an order deleted meanwhile: the step itself is still recorded
            with suppress(errors.UnknownKey):
                _follow(transaction, transaction.read("ServiceRequest", order_id), status)
        return updated


def _procedure(transaction: Transaction, instance_uid: str) -> StoredResource | None:
    found = transaction.find_by_identifier("Procedure", f"urn:oid:{instance_uid}",
                                           DICOM_UID_SYSTEM)  # fmt: skip
    return transaction.read("Procedure", found[0]) if found else None


def _order(transaction: Transaction, attributes: Dataset) -> StoredResource | None:
    """The order of the Scheduled Step Attributes Sequence: by accession, then study UID."""
    for item in attributes.get("ScheduledStepAttributesSequence", []):
        accession = str(item.get("AccessionNumber", "")).strip()
        study = str(item.get("StudyInstanceUID", "")).strip()
        for value, wanted in ((accession, "ACSN"), (f"urn:oid:{study}", "UID")):
            if not value or value == "urn:oid:":
                continue
            for res_id in transaction.find_by_identifier("ServiceRequest", value):
                order = transaction.read("ServiceRequest", res_id)
                if wanted == "UID" and study_instance_uid(order.resource) == study:
                    return order
                typed = identifier_of_type(order.resource, "ACSN")
                if wanted == "ACSN" and typed is not None and typed.get("value") == accession:
                    return order
    return None


def _subject(transaction: Transaction, order: StoredResource | None, attributes: Dataset
             ) -> dict[str, Any]:  # fmt: skip
    if order is not None and order.resource.get("subject"):
        return order.resource["subject"]
    patient_id = str(attributes.get("PatientID", "")).strip()
    if patient_id:
        found = transaction.find_by_identifier("Patient", patient_id)
        if found:
            return {"reference": f"Patient/{found[0]}"}
    raise MppsError("the step names neither a known order nor a known patient", 0x0106,
                    "ScheduledStepAttributesSequence")  # fmt: skip


def _follow(transaction: Transaction, order: StoredResource, status: str) -> None:
    """The worklist step and the order take the performed step's status."""
    _, step_status, order_status = FOLLOWS[status]
    body = dict(order.resource)
    step = read_step(body)
    step.status = step_status
    body = write_step(body, step)
    body["status"] = order_status
    if body != order.resource:
        transaction.update(body)


def _moment(dataset: Dataset, prefix: str) -> str | None:
    """``<prefix>Date`` + ``<prefix>Time`` as a FHIR dateTime."""
    date = str(dataset.get(f"{prefix}Date", ""))
    return fhir_datetime(date, str(dataset.get(f"{prefix}Time", ""))) if date else None
