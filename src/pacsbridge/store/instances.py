"""DICOM instances: the file in the data dir, its index rows, and the ImagingStudy.

C-STORE (and later STOW-RS) call :func:`store_instance`. The file is written first, as
received (pixel data never decoded), then one transaction writes the study, series and
instance rows with the instance's DICOM JSON (without bulk data) and creates or updates
the study's ImagingStudy (FHIR R4: identifier, series, instances, counts, modalities,
``started``, ``endpoint``, ``basedOn`` the order, ``subject`` the patient). A duplicate
instance keeps the first copy and is still a success.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson
from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from sqlalchemy import delete, insert, select, update

from pacsbridge.errors import BadValue
from pacsbridge.formats.dicom.dates import fhir_datetime
from pacsbridge.formats.fhir.imaging_order import (
    DCM,
    DICOM_UID_SYSTEM,
    identifier_of_type,
    study_uid_identifier,
)
from pacsbridge.store.resources import utc_now
from pacsbridge.store.tables import dicom_instance, dicom_series, dicom_study
from pacsbridge.store.transaction import Store, Transaction

ENDPOINT_SYSTEM = "urn:pacsbridge:endpoint"
IID_PATH = "/viewer/IHEInvokeImageDisplay"  # IHE Invoke Image Display, served by viewer/
_ENDPOINT_KINDS = {
    "dicom-wado-rs": ("pacsbridge DICOMweb", "application/dicom"),
    "ihe-iid": ("pacsbridge viewer (OHIF)", "text/html"),
}
_UID = re.compile(r"[0-9]+(\.[0-9]+)*")  # PS3.5 9.1, at most 64 characters checked below
BULK_THRESHOLD = 1024  # bytes: larger binary values are left out of the stored metadata


@dataclass(frozen=True)
class StoredInstance:
    sop_instance_uid: str
    study_uid: str
    imaging_study_id: str | None
    duplicate: bool


class OtherStudy(BadValue):
    """The instance belongs to another study than the one it was sent to (STOW-RS)."""


def store_instance(
    store: Store,
    data_dir: Path,
    file_meta: FileMetaDataset,
    dataset: bytes,
    wado_base: str,
    *,
    expected_study: str | None = None,
    replace: bool = False,
) -> StoredInstance:
    """Keep one received instance: file first, then index and ImagingStudy in one commit.

    An instance received again keeps the first copy, or with ``replace`` takes the new one.
    """
    header = _header(file_meta, dataset)
    sop_uid = str(file_meta.MediaStorageSOPInstanceUID)
    study_uid, series_uid = str(header.StudyInstanceUID), str(header.SeriesInstanceUID)
    for name, uid in (("SOPInstanceUID", sop_uid), ("StudyInstanceUID", study_uid),
                      ("SeriesInstanceUID", series_uid)):  # fmt: skip
        if len(uid) > 64 or not _UID.fullmatch(
            uid
        ):  # UIDs name the file: nothing else may reach the path
            raise BadValue(f"{name} {uid[:80]!r} is not a valid UID", name)
    if expected_study is not None and study_uid != expected_study:
        raise OtherStudy(f"instance {sop_uid} belongs to study {study_uid}")
    with store.reader() as reader:
        known = reader.connection.execute(
            select(dicom_instance.c.study_uid).where(dicom_instance.c.sop_instance_uid == sop_uid)
        ).first()
    if known is not None and not replace:  # keep the first copy (the default policy)
        return StoredInstance(sop_uid, study_uid, None, duplicate=True)
    relative = Path("dicom") / study_uid / series_uid / f"{sop_uid}.dcm"
    size = _write_file(data_dir / relative, file_meta, dataset)
    with store.transaction("dicom") as transaction:
        if known is not None:  # replace: the new copy's file is written, its row follows
            transaction.connection.execute(
                delete(dicom_instance).where(dicom_instance.c.sop_instance_uid == sop_uid)
            )
        _index(transaction, header, file_meta, relative, size)
        imaging_study = _imaging_study(transaction, study_uid, header, wado_base)
        transaction.connection.execute(
            update(dicom_study).where(dicom_study.c.study_uid == study_uid)
            .values(imaging_study_id=imaging_study)
        )  # fmt: skip
    return StoredInstance(sop_uid, study_uid, imaging_study, duplicate=False)


def _header(file_meta: FileMetaDataset, dataset: bytes) -> Dataset:
    """The dataset without pixel data, read from the bytes as the peer encoded them."""
    buffer = BytesIO()
    buffer.write(b"\0" * 128 + b"DICM")
    write_file_meta_info(buffer, file_meta, enforce_standard=True)
    buffer.write(dataset)
    buffer.seek(0)
    return dcmread(buffer, stop_before_pixels=True, force=True)


def _write_file(path: Path, file_meta: FileMetaDataset, dataset: bytes) -> int:
    """Part 10 file: preamble, meta, then the dataset bytes unchanged; fsynced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    with open(temporary, "wb") as handle:
        handle.write(b"\0" * 128 + b"DICM")
        write_file_meta_info(handle, file_meta, enforce_standard=True)
        handle.write(dataset)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    return path.stat().st_size


def _index(transaction: Transaction, header: Dataset, file_meta: FileMetaDataset,
           relative: Path, size: int) -> None:  # fmt: skip
    connection = transaction.connection
    study_uid, series_uid = str(header.StudyInstanceUID), str(header.SeriesInstanceUID)
    now = utc_now()
    study_row = {
        "patient_id": str(header.get("PatientID", "")) or None,
        "patient_name": str(header.get("PatientName", "")) or None,
        "study_date": str(header.get("StudyDate", "")) or None,
        "accession": str(header.get("AccessionNumber", "")) or None,
        "updated_at": now,
    }
    exists = connection.execute(
        select(dicom_study.c.modalities).where(dicom_study.c.study_uid == study_uid)
    ).first()
    modality = str(header.get("Modality", "")) or None
    if exists is None:
        connection.execute(insert(dicom_study).values(
            study_uid=study_uid, modalities=modality, **study_row))  # fmt: skip
    else:
        modalities = set(filter(None, (exists.modalities or "").split("\\"))) | {modality or ""}
        connection.execute(update(dicom_study).where(dicom_study.c.study_uid == study_uid).values(
            modalities="\\".join(sorted(m for m in modalities if m)) or None,
            updated_at=now))  # fmt: skip
    if connection.execute(select(dicom_series.c.series_uid).where(
            dicom_series.c.series_uid == series_uid)).first() is None:  # fmt: skip
        connection.execute(insert(dicom_series).values(
            series_uid=series_uid, study_uid=study_uid, modality=modality,
            series_number=_int(header.get("SeriesNumber")),
            description=str(header.get("SeriesDescription", ""))[:64] or None))  # fmt: skip
    metadata = header.to_json_dict(BULK_THRESHOLD, lambda element: "")
    connection.execute(insert(dicom_instance).values(
        sop_instance_uid=str(file_meta.MediaStorageSOPInstanceUID), series_uid=series_uid,
        study_uid=study_uid, sop_class_uid=str(file_meta.MediaStorageSOPClassUID),
        transfer_syntax_uid=str(file_meta.TransferSyntaxUID),
        instance_number=_int(header.get("InstanceNumber")), path=str(relative), size=size,
        metadata=orjson.dumps(metadata).decode(), received_at=now))  # fmt: skip


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _imaging_study(transaction: Transaction, study_uid: str, header: Dataset,
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
    started = fhir_datetime(str(header.get("StudyDate", "")), str(header.get("StudyTime", "")))
    if started and "started" not in body:
        body["started"] = started
    order = _order(transaction, header, study_uid)
    if order and "basedOn" not in body:
        body["basedOn"] = [{"reference": f"ServiceRequest/{order}"}]
    if header.get("StudyDescription"):
        body["description"] = str(header.StudyDescription)
    if found:
        return transaction.update(body)[0].id
    return transaction.create(body).id


def _patient(transaction: Transaction, header: Dataset) -> dict[str, Any]:
    """The patient by Patient ID (and issuer); one created from the header when unknown."""
    patient_id = str(header.get("PatientID", "")).strip() or "UNKNOWN"
    issuer = str(header.get("IssuerOfPatientID", "")).strip()
    system = f"urn:pacsbridge:id:{issuer}" if issuer else None
    found = transaction.find_by_identifier("Patient", patient_id, system)
    if found:
        return {"reference": f"Patient/{found[0]}"}
    body: dict[str, Any] = {"resourceType": "Patient", "identifier": [
        {"system": system or "urn:pacsbridge:id:dicom", "value": patient_id}]}  # fmt: skip
    name = header.get("PatientName")
    if name:
        family, _, rest = str(name).partition("^")
        human: dict[str, Any] = {"family": family} if family else {}
        given = [g for g in rest.split("^")[:2] if g]
        if given:
            human["given"] = given
        if human:
            body["name"] = [human]
    sex = {"M": "male", "F": "female", "O": "other"}.get(str(header.get("PatientSex", "")))
    if sex:
        body["gender"] = sex
    birth = str(header.get("PatientBirthDate", ""))
    if len(birth) == 8 and birth.isdigit():
        body["birthDate"] = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
    return {"reference": f"Patient/{transaction.create(body).id}"}


def _order(transaction: Transaction, header: Dataset, study_uid: str) -> str | None:
    accession = str(header.get("AccessionNumber", "")).strip()
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
