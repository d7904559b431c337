"""The console's signed report as the DiagnosticReport the outbound rule turns into ORU^R01."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from pacsbridge.console.report_body import interpreter, report_body, report_problems

STUDY = {"resourceType": "ImagingStudy", "id": "s1", "subject": {"reference": "Patient/p1"},
         "started": "2025-04-01T09:31:00+02:00"}  # fmt: skip
ORDER = {"id": "o1", "resource": {"code": {"text": "CT abdomen"}}}


def test_a_signed_report_is_final_on_its_study_order_and_patient():
    body = report_body(study_id="s1", study=STUDY, orders=[ORDER], text="Line 1\nLine 2",
                       conclusion="Normal.", signer=interpreter("Practitioner/dr", "dr"),
                       now=datetime(2025, 4, 1, 10, 0, tzinfo=UTC))  # fmt: skip
    assert body["status"] == "final" and body["subject"] == {"reference": "Patient/p1"}
    assert body["imagingStudy"] == [{"reference": "ImagingStudy/s1"}]
    assert body["basedOn"] == [{"reference": "ServiceRequest/o1"}]
    assert body["code"] == {"text": "CT abdomen"} and body["conclusion"] == "Normal."
    assert body["resultsInterpreter"] == [{"reference": "Practitioner/dr", "display": "dr"}]
    form = body["presentedForm"][0]
    assert form["contentType"].startswith("text/plain")
    assert base64.b64decode(form["data"]).decode() == "Line 1\nLine 2"
    assert body["effectiveDateTime"] == STUDY["started"]


def test_without_an_order_the_report_has_the_loinc_imaging_code():
    body = report_body(study_id="s1", study=STUDY, orders=[], text="", conclusion="Normal.",
                       signer=interpreter(None, "anna"), now=datetime.now(UTC))  # fmt: skip
    assert body["code"]["coding"][0]["code"] == "18748-4" and "basedOn" not in body
    assert "presentedForm" not in body and body["resultsInterpreter"] == [{"display": "anna"}]


def test_an_empty_report_is_refused():
    assert "text" in report_problems("  ", "")
    assert report_problems("", "Normal.") == {}
