"""Errors answered as FHIR: an HTTP status and an OperationOutcome naming the element.

The one place where the FHIR face turns :mod:`pacsbridge.errors` into HTTP, most
specific class first (as Starlette's exception middleware looks handlers up the MRO).
"""

from __future__ import annotations

import logging
from typing import Any

from pacsbridge import errors
from pacsbridge.fhir.negotiation import UnsupportedMediaType

log = logging.getLogger("pacsbridge.fhir")

STATUS_FOR: dict[type[Exception], int] = {
    UnsupportedMediaType: 415,
    errors.Gone: 410,
    errors.UnknownKey: 404,
    errors.MultipleMatches: 412,
    errors.VersionConflict: 412,
    errors.DuplicateKey: 409,
    errors.FinalState: 409,
    errors.InvalidResource: 422,
    errors.InvalidContent: 400,
    errors.Unsupported: 400,
    errors.TooCostly: 400,
    errors.NotAuthorized: 403,
}


def status_for(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return 500


def operation_outcome(issues: list[errors.Issue]) -> dict[str, Any]:
    """An OperationOutcome; locations go to ``expression`` (FHIRPath) as R4 prefers."""
    rendered = []
    for issue in issues:
        item: dict[str, Any] = {
            "severity": issue.severity,
            "code": issue.code,
            "diagnostics": issue.text,
        }
        if issue.location:
            item["expression"] = [issue.location]
        rendered.append(item)
    return {"resourceType": "OperationOutcome", "issue": rendered}


def information(text: str) -> dict[str, Any]:
    return operation_outcome([errors.Issue(text, severity="information", code="informational")])


def outcome_for(exc: Exception) -> tuple[int, dict[str, Any]]:
    """Status and OperationOutcome for any exception; unexpected ones are logged in full."""
    status = status_for(exc)
    if isinstance(exc, errors.PacsbridgeError) and status != 500:
        return status, operation_outcome(exc.issues)
    log.exception("unexpected error while answering a FHIR request", exc_info=exc)
    issue = errors.Issue(
        "internal error; nothing was changed. The server log has the details.",
        severity="fatal",
        code="exception",
    )
    return 500, operation_outcome([issue])
