"""Notices that are not results: images available for an order, and patient updates.

- Images received for an order → ORU^R01 whose OBX carry the Study Instance UID and a
  reference pointer (RP) to the study's WADO-RS URL, as the IHE wiki's instance
  availability pattern suggests; or, for a destination that wants ORM, ORM^O01 with
  ORC-1 SC and ORC-5 A ("some, not all, results available").
- A patient created or edited through FHIR → ADT^A04 or ADT^A08; merged (``link``
  replaced-by) → ADT^A40 with MRG naming the old identifiers (HL7 v2.5.1 ch. 3).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pacsbridge.formats.hl7v2.encode import Repetitions, encode_segment
from pacsbridge.outbox.segments import (
    Composed,
    cx,
    encode,
    msh,
    now_timestamp,
    obr,
    orc,
    order_numbers,
    pid,
)
from pacsbridge.profiles.destination import Destination

STUDY_UID = ["110180", "Study Instance UID", "DCM"]
RETRIEVE = ["WADO-RS", "DICOMweb retrieve", "99PACSBRIDGE"]


def images_available(destination: Destination, control_id: str, now: datetime, study_uid: str,
                     retrieve_url: str, patient: dict[str, Any],
                     order: dict[str, Any] | None) -> Composed:  # fmt: skip
    numbers = order_numbers(order)
    if destination.images_message == "ORM":
        segments = [
            msh(destination, ["ORM", "O01", "ORM_O01"], control_id, now),
            pid(patient),
            orc("SC", numbers, "A"),
            obr(destination, order, numbers, {}),
        ]
        return Composed("ORM^O01", control_id, encode(destination, segments))
    segments = [
        msh(destination, ["ORU", "R01", "ORU_R01"], control_id, now),
        pid(patient),
        orc("SC", numbers, "A"),
        obr(destination, order, numbers, {22: now_timestamp(now), 25: "I"}),
        encode_segment("OBX", {1: "1", 2: "ST", 3: STUDY_UID, 4: "1", 5: study_uid, 11: "O"}),
        encode_segment("OBX", {1: "2", 2: "RP", 3: RETRIEVE, 4: "1",
                               5: [retrieve_url, "", "application", "dicom"], 11: "O"}),
    ]  # fmt: skip
    return Composed("ORU^R01", control_id, encode(destination, segments))


def patient_update(destination: Destination, control_id: str, now: datetime,
                   patient: dict[str, Any], created: bool) -> Composed:  # fmt: skip
    event = "A04" if created else "A08"
    segments = [
        msh(destination, ["ADT", event, "ADT_A01"], control_id, now),
        encode_segment("EVN", {1: event, 2: now_timestamp(now)}),
        pid(patient),
        encode_segment("PV1", {1: "1", 2: "N"}),  # N: not applicable (table 0004)
    ]
    return Composed(f"ADT^{event}", control_id, encode(destination, segments))


def patient_merge(destination: Destination, control_id: str, now: datetime,
                  survivor: dict[str, Any], merged: dict[str, Any]) -> Composed:  # fmt: skip
    old = [cx(i) for i in merged.get("identifier", []) if i.get("value")]
    segments = [
        msh(destination, ["ADT", "A40", "ADT_A39"], control_id, now),
        encode_segment("EVN", {1: "A40", 2: now_timestamp(now)}),
        pid(survivor),
        encode_segment("MRG", {1: Repetitions(old)}),
    ]
    return Composed("ADT^A40", control_id, encode(destination, segments))
