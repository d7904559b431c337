"""ORU^R01 (HL7 v2.5.1 ch. 7): a report or result → DiagnosticReport (+ Observations).

Per OBR: status from OBR-25, linked to its order by accession (profile address) or placer
number; text OBX (TX, FT, ST) become the conclusion, discrete ones (NM, CE, CWE, SN)
Observations, an embedded document (OBX ED, base64) the ``presentedForm``.
"""

from __future__ import annotations

from typing import Any

from pacsbridge.errors import BadValue
from pacsbridge.formats.hl7v2.message import Message, Segment
from pacsbridge.hl7v2.inbound.applied import Applied
from pacsbridge.hl7v2.inbound.fields import (
    codeable_concept,
    first_field,
    hl7_datetime,
)
from pacsbridge.hl7v2.inbound.orders import find_by_identifier
from pacsbridge.hl7v2.inbound.orm import OrderGroup
from pacsbridge.hl7v2.inbound.patient import upsert_patient
from pacsbridge.profiles import Partner
from pacsbridge.store import Transaction

STATUS = {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled",
          "R": "preliminary", "S": "partial", "A": "partial", "I": "registered",
          "O": "registered", "D": "entered-in-error"}  # fmt: skip
OBX_STATUS = {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled",
              "D": "entered-in-error", "R": "preliminary", "S": "preliminary"}  # fmt: skip
TEXT_TYPES = {"TX", "FT", "ST"}
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"


def report_groups(message: Message) -> list[tuple[OrderGroup, list[Segment]]]:
    groups: list[tuple[OrderGroup, list[Segment]]] = []
    pending_orc: Segment | None = None
    for segment in message.segments:
        if segment.name == "ORC":
            pending_orc = segment
        elif segment.name == "OBR":
            group = OrderGroup({"OBR": segment})
            if pending_orc is not None:
                group.segments["ORC"] = pending_orc
                pending_orc = None
            groups.append((group, []))
        elif segment.name == "OBX" and groups:
            groups[-1][1].append(segment)
        elif segment.name == "NTE" and groups:
            groups[-1][0].notes.append(segment.value(3))
    if not groups:
        raise BadValue("an ORU^R01 needs at least one OBR", "OBR")
    return groups


def apply_oru(transaction: Transaction, message: Message, partner: Partner) -> Applied:
    applied = Applied()
    patient = upsert_patient(transaction, message.segment("PID"), partner)
    applied.add(patient)
    subject = {"reference": f"Patient/{patient.id}"}
    for group, observations in report_groups(message):
        obr = group.segments["OBR"]
        accession = group.read(partner.accession) or None
        applied.accession = applied.accession or accession
        report: dict[str, Any] = {
            "resourceType": "DiagnosticReport",
            "status": STATUS.get(group.read(partner.result_status).upper(), "unknown"),
            "category": [{"coding": [{"system": V2_0074, "code": obr.value(24) or "RAD"}]}],
            "code": codeable_concept(obr.repetitions(4)[0]) if obr.repetitions(4) else None,
            "subject": subject,
        }
        report["code"] = report["code"] or {"text": "report"}
        identifier = obr.value(3) or accession or obr.value(2)
        if identifier:
            report["identifier"] = [{"system": "urn:pacsbridge:report", "value": identifier}]
        order = (find_by_identifier(transaction, "ACSN", accession)
                 or find_by_identifier(transaction, "PLAC", obr.value(2))
                 or find_by_identifier(transaction, "FILL", obr.value(3)))  # fmt: skip
        if order is not None:
            report["basedOn"] = [{"reference": f"ServiceRequest/{order.id}"}]
        _dates(report, obr, partner)
        interpreter = first_field(obr, 32)
        if interpreter is not None:
            names = [interpreter.component(1, n) for n in (3, 2)]
            display = " ".join(n for n in names if n) or interpreter.component(1, 1)
            if display:
                report["resultsInterpreter"] = [{"display": display}]
        texts, results, forms = [], [], []
        for n, obx in enumerate(observations):
            kind = obx.value(2).upper()
            where = f"OBX[{n + 1}]"
            if kind in TEXT_TYPES:
                texts += _text_lines(obx)
            elif kind == "ED":
                forms.append(_attachment(obx, where))
            elif kind:
                observation = _observation(obx, kind, subject, report, where, partner)
                if observation is not None:
                    stored = transaction.create(observation)
                    applied.add(stored)
                    results.append({"reference": f"Observation/{stored.id}"})
        conclusion = "\n".join([*(t for t in texts if t), *(n for n in group.notes if n)])
        if conclusion.strip():
            report["conclusion"] = conclusion.strip()
        if results:
            report["result"] = results
        if forms:
            report["presentedForm"] = forms
        applied.add(_store_report(transaction, report, identifier))
    return applied


def _text_lines(obx: Segment) -> list[str]:
    """OBX-5 repetitions as text lines; a component separator in text is text too."""
    return ["^".join(r.components).rstrip("^") for r in obx.repetitions(5)]


def _dates(report: dict[str, Any], obr: Segment, partner: Partner) -> None:
    observed = obr.value(7)
    if observed:
        report["effectiveDateTime"] = hl7_datetime(observed, "OBR.7", partner.timezone)
    issued = obr.value(22)
    if issued:
        value = hl7_datetime(issued, "OBR.22", partner.timezone)
        if value and "T" in value:
            report["issued"] = value


def _attachment(obx: Segment, where: str) -> dict[str, Any]:
    """ED: source^type^subtype^encoding^data (HL7 v2.5.1 2A.24)."""
    value = obx.repetitions(5)[0] if obx.repetitions(5) else None
    if value is None or value.component(4).upper() not in ("BASE64", "A"):
        raise BadValue("an ED value must be Base64 encoded (ED.4 = Base64)", f"{where}.5.4")
    subtype = value.component(3).lower() or "octet-stream"
    kind = value.component(2).lower() or "application"
    data = "".join(value.component(5).split())
    if not data:
        raise BadValue("the embedded document is empty", f"{where}.5.5")
    return {"contentType": f"{kind}/{subtype}", "data": data}


def _observation(
    obx: Segment, kind: str, subject: dict[str, Any], report: dict[str, Any], where: str,
    partner: Partner,
) -> dict[str, Any] | None:  # fmt: skip
    code = codeable_concept(obx.repetitions(3)[0]) if obx.repetitions(3) else None
    observation: dict[str, Any] = {
        "resourceType": "Observation",
        "status": OBX_STATUS.get(obx.value(11).upper(), "final"),
        "code": code or {"text": obx.value(3, 2) or "result"},
        "subject": subject,
    }
    value = obx.value(5)
    if kind in ("NM", "SN"):
        number = obx.value(5, 2) if kind == "SN" else value
        try:
            quantity: dict[str, Any] = {"value": float(number) if "." in number else int(number)}
        except ValueError as exc:
            raise BadValue(f"{number!r} is not a number", f"{where}.5") from exc
        unit = obx.value(6)
        if unit:
            quantity["unit"] = unit
        observation["valueQuantity"] = quantity
    elif kind in ("CE", "CWE", "CNE"):
        concept = codeable_concept(obx.repetitions(5)[0]) if obx.repetitions(5) else None
        if concept:
            observation["valueCodeableConcept"] = concept
    elif value:
        observation["valueString"] = value
    else:
        return None
    if "effectiveDateTime" in report:
        observation["effectiveDateTime"] = report["effectiveDateTime"]
    observed = obx.value(14)
    if observed:
        observation["effectiveDateTime"] = hl7_datetime(observed, f"{where}.14", partner.timezone)
    return observation


def _store_report(transaction: Transaction, report: dict[str, Any], identifier: str | None) -> Any:
    """A report already received (same identifier) is updated: corrections replace it."""
    if identifier:
        found = transaction.find_by_identifier(
            "DiagnosticReport", identifier, "urn:pacsbridge:report"
        )
        if found:
            return transaction.update({**report, "id": found[0]})[0]
    return transaction.create(report)
