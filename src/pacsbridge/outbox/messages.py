"""The outbound messages, each from the FHIR resources of one event.

- A report (DiagnosticReport) → ORU^R01: OBR-25 P/F/C/X from its status; the report
  text as OBX TX lines (or one FT value), the conclusion as its own OBX, a PDF of
  ``presentedForm`` as OBX ED in Base64 (HL7 v2.5.1 ch. 7; IHE RAD TF-2 4.128).
- A performed step (Procedure from MPPS) → ORM^O01 with ORC-1 SC and ORC-5 IP/CM/DC, or
  OMI^O23 for destinations that speak v2.5.1 orders (IHE RAD TF-2 4.4, 4.6-4.7).
"""

from __future__ import annotations

import base64
import html
import re
from datetime import datetime
from typing import Any

from pacsbridge.formats.fhir.imaging_order import (
    read_step,
    requested_procedure_id,
    study_instance_uid,
)
from pacsbridge.formats.hl7v2.encode import encode_segment
from pacsbridge.outbox.segments import (
    Composed,
    ce,
    encode,
    hl7_timestamp,
    msh,
    now_timestamp,
    obr,
    orc,
    order_numbers,
    pid,
)
from pacsbridge.profiles.destination import Destination

REPORT_STATUS = {  # DiagnosticReport.status -> OBR-25 (HL7 table 0123)
    "preliminary": "P", "final": "F", "amended": "C", "corrected": "C", "appended": "C",
    "entered-in-error": "X",
}  # fmt: skip
PROCEDURE_STATUS = {"in-progress": "IP", "completed": "CM", "stopped": "DC"}  # -> ORC-5

NARRATIVE = ["18782-3", "Radiology Study observation (narrative)", "LN"]
IMPRESSION = ["19005-8", "Radiology Imaging study [Impression] (narrative)", "LN"]
DOCUMENT = ["18748-4", "Diagnostic imaging study", "LN"]


def report_text(report: dict[str, Any]) -> str:
    """The report body: a text/plain ``presentedForm``, else the narrative without markup."""
    for form in report.get("presentedForm", []):
        if str(form.get("contentType", "")).startswith("text/plain") and form.get("data"):
            return base64.b64decode(form["data"]).decode("utf-8", errors="replace").strip()
    div = (report.get("text") or {}).get("div", "")
    div = re.sub(r"<br\s*/?>|</p>|</div>", "\n", div)
    return html.unescape(re.sub(r"<[^>]+>", "", div)).strip()


def oru(destination: Destination, control_id: str, now: datetime, report: dict[str, Any],
        patient: dict[str, Any], order: dict[str, Any] | None) -> Composed:  # fmt: skip
    status = REPORT_STATUS[report["status"]]
    numbers = order_numbers(order)
    interpreter = next((r.get("display") for r in report.get("resultsInterpreter", [])
                        if r.get("display")), None)  # fmt: skip
    period = report.get("effectivePeriod") or {}
    observed = report.get("effectiveDateTime") or period.get("start")
    fields: dict[int, Any] = {
        7: hl7_timestamp(observed),
        22: hl7_timestamp(report.get("issued")) or now_timestamp(now),
        25: status,
        32: [["", interpreter]] if interpreter else None,  # NDL: CNN ID & family name
    }
    if not (order or {}).get("code"):  # OBR-4 is required: the report's own code then
        fields[4] = ce(report.get("code"))
    segments = [
        msh(destination, ["ORU", "R01", "ORU_R01"], control_id, now),
        pid(patient),
        orc("RE", numbers),
        obr(destination, order, numbers, fields),
    ]
    observation = _observations(destination, report, "W" if status == "X" else status)
    return Composed("ORU^R01", control_id, encode(destination, segments + observation))


def _observations(destination: Destination, report: dict[str, Any], status: str) -> list[str]:
    rows: list[tuple[str, list[str], Any]] = []
    text = report_text(report)
    if text and destination.report_value_type == "FT":
        rows.append(("FT", NARRATIVE, text))
    elif text:
        rows += [("TX", NARRATIVE, line) for line in text.splitlines()]
    if report.get("conclusion"):
        rows.append(("TX", IMPRESSION, report["conclusion"]))
    for form in report.get("presentedForm", []):
        if form.get("contentType") == "application/pdf" and form.get("data"):
            rows.append(("ED", DOCUMENT, ["PACSBRIDGE", "AP", "PDF", "Base64", form["data"]]))
    return [encode_segment("OBX", {1: str(n), 2: kind, 3: code, 4: "1", 5: value, 11: status})
            for n, (kind, code, value) in enumerate(rows, 1)]  # fmt: skip


def order_status(destination: Destination, control_id: str, now: datetime,
                 procedure: dict[str, Any], patient: dict[str, Any],
                 order: dict[str, Any] | None) -> Composed:  # fmt: skip
    status = PROCEDURE_STATUS[procedure["status"]]
    numbers = order_numbers(order)
    performed = procedure.get("performedPeriod") or {}
    when = {7: hl7_timestamp(performed.get("start")), 8: hl7_timestamp(performed.get("end"))}
    if destination.order_message == "OMI":
        segments = [
            msh(destination, ["OMI", "O23", "OMI_O23"], control_id, now),
            pid(patient),
            orc("SC", numbers, status),
            encode_segment("TQ1", {1: "1"}),
            obr(destination, order, numbers, when),
            _ipc(order, numbers.accession),
        ]
        return Composed("OMI^O23", control_id, encode(destination, segments))
    segments = [
        msh(destination, ["ORM", "O01", "ORM_O01"], control_id, now),
        pid(patient),
        orc("SC", numbers, status),
        obr(destination, order, numbers, {**when, 25: _result_status(status)}),
    ]
    return Composed("ORM^O01", control_id, encode(destination, segments))


def _result_status(order_status: str) -> str:
    return {"IP": "I", "CM": "R", "DC": "X"}[order_status]  # HL7 table 0123


def _ipc(order: dict[str, Any] | None, accession: str | None) -> str:
    step = read_step(order or {})
    return encode_segment("IPC", {
        1: accession, 2: requested_procedure_id(order or {}),
        3: study_instance_uid(order or {}), 4: step.sps_id, 5: step.modality,
    })  # fmt: skip
