"""What the audit trail hears of each DICOMweb request that touches patient data.

An :class:`Event` is made when a request starts and filled in while its answer is made
(the studies found, whose patients they are); :func:`record` hands it to the trail once
the status is known, refusals included. The trail only enqueues (``auth/audit.py``), so
this costs the request no database write.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from pacsbridge.auth.audit import AuditTrail
from pacsbridge.auth.principal import principal_of

SOURCE = "dicomweb"


@dataclass
class Event:
    """One request as the audit trail sees it; ``action`` is ``R`` (read, search) or ``C``."""

    interaction: str  # qido-rs wado-rs metadata bulkdata frames rendered thumbnail stow-rs
    action: str = "R"
    studies: list[str] = field(default_factory=list)  # Study Instance UIDs concerned
    patients: set[str] = field(default_factory=set)  # FHIR Patient ids concerned
    with_query: bool = False  # a search: the query string is part of the record


def record(trail: AuditTrail, request: Request, event: Event, status: int) -> None:
    """Tell the trail about ``event``, answered with ``status``."""
    query = None
    if event.with_query:
        query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    trail.record(
        principal_of(request.scope),
        source=SOURCE,
        interaction=event.interaction,
        action=event.action,
        entities=[f"urn:dicom:uid:{uid}" for uid in dict.fromkeys(event.studies)],
        patients=sorted(event.patients),
        outcome=status,
        query=query,
    )
