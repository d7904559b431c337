"""A signed radiology report as a FHIR DiagnosticReport, from the console's report form.

The report is written ``final`` through the store, so ``rules/outbound.py`` composes its
ORU^R01 in the same transaction, exactly as for a report posted over FHIR: the console
adds no path of its own to the HIS. Its shape follows what that rule and
``outbox/messages.py`` read: ``basedOn`` the order (OBR's order numbers), ``subject``
(PID), a ``text/plain`` ``presentedForm`` (OBX TX lines), ``conclusion`` (OBX
impression) and ``resultsInterpreter`` with a display (OBR-32).
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
RADIOLOGY = {"coding": [{"system": V2_0074, "code": "RAD", "display": "Radiology"}]}
IMAGING_REPORT = {
    "coding": [{"system": "http://loinc.org", "code": "18748-4",
                "display": "Diagnostic imaging study"}],
    "text": "Diagnostic imaging report",
}  # fmt: skip
MAX_TEXT = 100_000  # characters; a report, not a document store


def interpreter(fhir_user: str | None, display: str) -> dict[str, Any]:
    """Who signs: the principal's FHIR user when it names a Practitioner, else a display."""
    if fhir_user and fhir_user.startswith(("Practitioner/", "PractitionerRole/")):
        return {"reference": fhir_user, "display": display}
    return {"display": display}


def report_body(
    *,
    study_id: str,
    study: dict[str, Any],
    orders: list[dict[str, Any]],
    text: str,
    conclusion: str,
    signer: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The final DiagnosticReport on the ImagingStudy ``study`` and the orders it is based on."""
    order_code = next((o["resource"].get("code") for o in orders if o["resource"].get("code")),
                      None)  # fmt: skip
    body: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "status": "final",
        "category": [RADIOLOGY],
        "code": order_code or IMAGING_REPORT,
        "subject": study["subject"],
        "imagingStudy": [{"reference": f"ImagingStudy/{study_id}"}],
        "issued": now.astimezone().isoformat(timespec="seconds"),
        "resultsInterpreter": [signer],
    }
    if orders:
        body["basedOn"] = [{"reference": f"ServiceRequest/{o['id']}"} for o in orders]
    if study.get("started"):
        body["effectiveDateTime"] = study["started"]
    if text.strip():
        data = base64.b64encode(text.strip().encode("utf-8")).decode("ascii")
        body["presentedForm"] = [{"contentType": "text/plain; charset=utf-8", "data": data,
                                  "title": "Report"}]  # fmt: skip
    if conclusion.strip():
        body["conclusion"] = conclusion.strip()
    return body


def report_problems(text: str, conclusion: str) -> dict[str, str]:
    found = {}
    if not text.strip() and not conclusion.strip():
        found["text"] = "Write the report, its conclusion, or both."
    if len(text) > MAX_TEXT:
        found["text"] = f"At most {MAX_TEXT} characters."
    if len(conclusion) > 10_000:
        found["conclusion"] = "At most 10000 characters."
    return found
