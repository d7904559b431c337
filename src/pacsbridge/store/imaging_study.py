"""The FHIR ImagingStudy of a stored study, built from its DICOM index rows.

Storing an instance marks its study stale (``instances.py``); :func:`refresh_studies`
rebuilds the ImagingStudy of stale studies from all their rows (identifier, series,
instances, counts, modalities, ``started``, ``endpoint``, ``basedOn`` the order matched by
accession number or study UID, ``subject`` the patient matched by Patient ID and issuer,
created from the header when unknown). The DICOM listener calls it when an association
ends, STOW-RS before it answers, and the maintenance loop for studies left stale by a
crash or a long association.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, update

from pacsbridge.formats.dicom.dates import fhir_datetime
from pacsbridge.formats.dicom.header import Header
from pacsbridge.formats.fhir.imaging_order import (
    DCM,
    DICOM_UID_SYSTEM,
    identifier_of_type,
    study_uid_identifier,
)
from pacsbridge.store.tables import dicom_instance, dicom_series, dicom_study
from pacsbridge.store.transaction import Store, Transaction

ENDPOINT_SYSTEM = "urn:pacsbridge:endpoint"
IID_PATH = "/viewer/IHEInvokeImageDisplay"  # IHE Invoke Image Display, served by viewer/
_ENDPOINT_KINDS = {
    "dicom-wado-rs": ("pacsbridge DICOMweb", "application/dicom"),
    "ihe-iid": ("pacsbridge viewer (OHIF)", "text/html"),
}


def refresh_studies(store: Store, study_uids: set[str] | list[str], wado_base: str) -> int:
    """Bring the ImagingStudy of each stale study up to date; one transaction per study."""
    done = 0
    for study_uid in sorted(set(study_uids)):
        with store.transaction("dicom") as transaction:
            connection = transaction.connection
            stale = connection.execute(
                select(dicom_study.c.fhir_stale).where(dicom_study.c.study_uid == study_uid)
                .with_for_update()
            ).scalar()  # fmt: skip
            if not stale:
                continue  # another thread refreshed it meanwhile
            header = _header(transaction, study_uid)
            imaging_study = _imaging_study(transaction, study_uid, header, wado_base)
            connection.execute(
                update(dicom_study).where(dicom_study.c.study_uid == study_uid)
                .values(imaging_study_id=imaging_study, fhir_stale=False)
            )  # fmt: skip
            done += 1
    return done


def stale_studies(store: Store, changed_before: datetime) -> list[str]:
    """Studies still stale whose last instance came before ``changed_before``."""
    with store.reader() as reader:
        return list(reader.connection.execute(
            select(dicom_study.c.study_uid)
            .where(dicom_study.c.fhir_stale.is_(True), dicom_study.c.updated_at < changed_before)
        ).scalars())  # fmt: skip


def _header(transaction: Transaction, study_uid: str) -> Header:
    """The study's newest instance's attributes: patient, dates, accession, description."""
    text = transaction.connection.execute(
        select(dicom_instance.c.metadata).where(dicom_instance.c.study_uid == study_uid)
        .order_by(dicom_instance.c.received_at.desc()).limit(1)
    ).scalar_one()  # fmt: skip
    return Header(orjson.loads(text))


def _imaging_study(transaction: Transaction, study_uid: str, header: Header,
                   wado_base: str) -> str:  # fmt: skip
    """Create or update the ImagingStudy from the index rows of the whole study."""
    connection = transaction.connection
    series_rows = connection.execute(
        select(dicom_series).where(dicom_series.c.study_uid == study_uid)
        .order_by(dicom_series.c.series_number, dicom_series.c.series_uid)
    ).all()  # fmt: skip
    instance_rows = connection.execute(
        select(dicom_instance.c.sop_instance_uid, dicom_instance.c.series_uid,
               dicom_instance.c.sop_class_uid, dicom_instance.c.instance_number)
        .where(dicom_instance.c.study_uid == study_uid)
        .order_by(dicom_instance.c.instance_number, dicom_instance.c.sop_instance_uid)
    ).all()  # fmt: skip
    endpoint = {"reference": f"Endpoint/{_endpoint(transaction, 'dicom-wado-rs', wado_base)}"}
    viewer = _endpoint(transaction, "ihe-iid", wado_base.removesuffix("/dicomweb") + IID_PATH)
    series = []
    for row in series_rows:
        instances = [
            {"uid": i.sop_instance_uid, "sopClass": {"system": "urn:ietf:rfc:3986",
                                                      "code": f"urn:oid:{i.sop_class_uid}"},
             **({"number": i.instance_number} if i.instance_number is not None else {})}
            for i in instance_rows if i.series_uid == row.series_uid
        ]  # fmt: skip
        item: dict[str, Any] = {"uid": row.series_uid,
                                "modality": {"system": DCM, "code": row.modality or "OT"},
                                "numberOfInstances": len(instances), "endpoint": [endpoint],
                                "instance": instances}  # fmt: skip
        if row.series_number is not None:
            item["number"] = row.series_number
        if row.description:
            item["description"] = row.description
        series.append(item)
    found = transaction.find_by_identifier("ImagingStudy", f"urn:oid:{study_uid}",
                                           DICOM_UID_SYSTEM)  # fmt: skip
    current = transaction.read("ImagingStudy", found[0]).resource if found else {}
    body: dict[str, Any] = {
        **current,
        "resourceType": "ImagingStudy",
        "identifier": current.get("identifier") or [study_uid_identifier(study_uid)],
        "status": "available",
        "subject": current.get("subject") or _patient(transaction, header),
        "numberOfSeries": len(series),
        "numberOfInstances": len(instance_rows),
        "modality": [
            {"system": DCM, "code": m} for m in sorted({s["modality"]["code"] for s in series})
        ],  # fmt: skip
        "endpoint": [endpoint, {"reference": f"Endpoint/{viewer}"}],
        "series": series,
    }
    started = fhir_datetime(header["StudyDate"], header["StudyTime"])
    if started and "started" not in body:
        body["started"] = started
    order = _order(transaction, header, study_uid)
    if order and "basedOn" not in body:
        body["basedOn"] = [{"reference": f"ServiceRequest/{order}"}]
    if header["StudyDescription"]:
        body["description"] = header["StudyDescription"]
    if found:
        return transaction.update(body)[0].id
    return transaction.create(body).id


def _patient(transaction: Transaction, header: Header) -> dict[str, Any]:
    """The patient by Patient ID (and issuer); one created from the header when unknown."""
    patient_id = header["PatientID"].strip() or "UNKNOWN"
    issuer = header["IssuerOfPatientID"].strip()
    system = f"urn:pacsbridge:id:{issuer}" if issuer else None
    found = transaction.find_or_lock_identifier("Patient", patient_id, system)
    if found:
        return {"reference": f"Patient/{found[0]}"}
    body: dict[str, Any] = {"resourceType": "Patient", "identifier": [
        {"system": system or "urn:pacsbridge:id:dicom", "value": patient_id}]}  # fmt: skip
    name = header["PatientName"]
    if name:
        family, _, rest = name.partition("^")
        human: dict[str, Any] = {"family": family} if family else {}
        given = [g for g in rest.split("^")[:2] if g]
        if given:
            human["given"] = given
        if human:
            body["name"] = [human]
    sex = {"M": "male", "F": "female", "O": "other"}.get(header["PatientSex"])
    if sex:
        body["gender"] = sex
    birth = header["PatientBirthDate"]
    if len(birth) == 8 and birth.isdigit():
        body["birthDate"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    return {"reference": f"Patient/{transaction.create(body).id}"}


def _order(transaction: Transaction, header: Header, study_uid: str) -> str | None:
    accession = header["AccessionNumber"].strip()
    for value, code in ((accession, "ACSN"), (f"urn:oid:{study_uid}", None)):
        if not value:
            continue
        for res_id in transaction.find_by_identifier("ServiceRequest", value):
            order = transaction.read("ServiceRequest", res_id).resource
            if code is None or (identifier_of_type(order, code) or {}).get("value") == value:
                return res_id
    return None


def _endpoint(transaction: Transaction, connection_type: str, address: str) -> str:
    """The one Endpoint of a kind: images fetched (``dicom-wado-rs``), or shown (``ihe-iid``)."""
    found = transaction.find_by_identifier("Endpoint", connection_type, ENDPOINT_SYSTEM)
    if found:
        current = transaction.read("Endpoint", found[0]).resource
        if current.get("address") != address:  # the public base URL changed: follow it
            transaction.update({**current, "address": address})
        return found[0]
    name, mime = _ENDPOINT_KINDS[connection_type]
    body = {
        "resourceType": "Endpoint",
        "identifier": [{"system": ENDPOINT_SYSTEM, "value": connection_type}],
        "status": "active",
        "connectionType": {"system": "http://terminology.hl7.org/CodeSystem/"
                           "endpoint-connection-type", "code": connection_type},
        "name": name,
        "payloadType": [{"text": "DICOM"}],
        "payloadMimeType": [mime],
        "address": address,
    }  # fmt: skip
    return transaction.create(body).id
