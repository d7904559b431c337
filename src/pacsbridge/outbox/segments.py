"""The segments every outbound message shares, written from FHIR: MSH, PID, ORC, OBR.

Field places follow HL7 v2.5.1 (ch. 2, 3, 4, 7) and IHE RAD TF-2; where a receiving system
wants a field elsewhere (the accession in OBR-3, say) its destination profile says so.
Values are written in the nested form of ``formats/hl7v2/encode.py``, so escaping is
done once, there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pacsbridge.formats.fhir.imaging_order import identifier_of_type, read_step
from pacsbridge.formats.hl7v2.charsets import encode as encode_text
from pacsbridge.formats.hl7v2.code_systems import system_name
from pacsbridge.formats.hl7v2.encode import Repetitions, encode_message, encode_segment
from pacsbridge.profiles.destination import Destination

ID_PREFIX = "urn:pacsbridge:id:"
_SEX = {"male": "M", "female": "F", "other": "O", "unknown": "U"}


@dataclass(frozen=True)
class Composed:
    """A message ready for the outbox: its type, MSH-10 and bytes in the destination's set."""

    message_type: str
    control_id: str
    payload: bytes


def hl7_timestamp(value: str | None) -> str | None:
    """A FHIR date or dateTime as HL7 DTM (``YYYYMMDDHHMMSS+ZZZZ``), to the precision given."""
    if not value:
        return None
    if "T" not in value:
        return value.replace("-", "")
    moment = datetime.fromisoformat(value)
    offset = moment.strftime("%z") if moment.utcoffset() is not None else ""
    return moment.strftime("%Y%m%d%H%M%S") + offset


def now_timestamp(now: datetime) -> str:
    """HL7 DTM in this machine's zone with its offset; a naive ``now`` is UTC (the store's)."""
    aware = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    return aware.astimezone().strftime("%Y%m%d%H%M%S%z")


def msh(destination: Destination, message_type: list[str], control_id: str,
        now: datetime) -> str:  # fmt: skip
    return encode_segment("MSH", {
        3: destination.sending_application, 4: destination.sending_facility,
        5: destination.receiving_application, 6: destination.receiving_facility,
        7: now_timestamp(now), 9: message_type, 10: control_id, 11: "P",
        12: destination.version, 18: destination.charset,
    })  # fmt: skip


def cx(identifier: dict[str, Any]) -> list[Any]:
    system = str(identifier.get("system", ""))
    if system.startswith(ID_PREFIX):
        authority: Any = system.removeprefix(ID_PREFIX)
    elif system.startswith("urn:oid:"):
        authority = ["", system.removeprefix("urn:oid:"), "ISO"]
    else:
        authority = system
    return [identifier.get("value", ""), "", "", authority]


def _xpn(name: dict[str, Any]) -> list[Any]:
    given = name.get("given", [])
    return [name.get("family", ""), given[0] if given else "", " ".join(given[1:])]


def pid(patient: dict[str, Any]) -> str:
    identifiers = [i for i in patient.get("identifier", []) if i.get("value")]
    names = patient.get("name", [])
    return encode_segment("PID", {
        1: "1",
        3: Repetitions([cx(i) for i in identifiers]),
        5: Repetitions([_xpn(n) for n in names]) if names else None,
        7: (patient.get("birthDate") or "").replace("-", "") or None,
        8: _SEX.get(patient.get("gender", "")),
    })  # fmt: skip


@dataclass(frozen=True)
class OrderNumbers:
    placer: str | None
    filler: str | None
    accession: str | None


def order_numbers(order: dict[str, Any] | None) -> OrderNumbers:
    if not order:
        return OrderNumbers(None, None, None)
    value = lambda code: (identifier_of_type(order, code) or {}).get("value")  # noqa: E731
    return OrderNumbers(value("PLAC"), value("FILL"), value("ACSN"))


def ce(concept: dict[str, Any] | None) -> list[str] | None:
    codings = (concept or {}).get("coding", [])
    if not codings:
        return [(concept or {}).get("text", "")] if concept and concept.get("text") else None
    first = codings[0]
    system = str(first.get("system", ""))
    short = system_name(system.removeprefix(ID_PREFIX))
    return [first.get("code", ""), first.get("display", ""), short]


def orc(control: str, numbers: OrderNumbers, status: str | None = None) -> str:
    return encode_segment("ORC", {1: control, 2: numbers.placer, 3: numbers.filler,
                                  5: status})  # fmt: skip


def obr(destination: Destination, order: dict[str, Any] | None, numbers: OrderNumbers,
        extra: dict[int, Any]) -> str:  # fmt: skip
    """OBR from the order; ``extra`` adds the fields of one message kind (dates, status)."""
    fields: dict[int, Any] = {1: "1", 2: numbers.placer, 3: numbers.filler,
                              4: ce((order or {}).get("code"))}  # fmt: skip
    if numbers.accession:
        fields[3 if destination.accession_field == "OBR.3" else 18] = numbers.accession
    if order:
        step = read_step(order)
        fields[24] = step.modality
    fields.update(extra)
    return encode_segment("OBR", fields)


def encode(destination: Destination, segments: list[str]) -> bytes:
    """The message in the destination's character set; what it cannot hold becomes ``?``."""
    return encode_text(encode_message(segments), destination.charset)
