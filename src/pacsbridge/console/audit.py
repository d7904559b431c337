"""What the console tells the audit trail: each page or form that touched patient data.

Views call :func:`record` once they know what they showed or changed; recording only
enqueues (``auth/audit.py``), so a page costs no extra database write. Pages without
patient data (dashboard, configuration) are not recorded: the dashboard refreshes every
few seconds and shows no patient identifiers for that reason.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request

from pacsbridge.auth.principal import principal_of

SOURCE = "console"
ACTIONS = {"read": "R", "search": "R", "create": "C", "update": "U", "delete": "D"}


def literal(reference: str) -> str:
    """``Patient/1/_history/3`` as ``Patient/1``: the trail names resources, not versions."""
    parts = reference.split("/")
    return "/".join(parts[:2])


def patients_in(references: Iterable[str | None]) -> list[str]:
    """The Patient ids among ``references`` (``Patient/<id>``, versioned or not)."""
    found = []
    for reference in references:
        if reference and reference.startswith("Patient/"):
            found.append(literal(reference).split("/", 1)[1])
    return list(dict.fromkeys(found))


def record(
    request: Request,
    interaction: str,
    *,
    entities: Iterable[str] = (),
    patients: Iterable[str] = (),
    outcome: int = 200,
    action: str | None = None,
    with_query: bool = False,
) -> None:
    """One access: ``interaction`` is a FHIR RESTful code (read, search, create, update)
    or ours (reprocess, retry, cancel: action E, execute)."""
    trail = getattr(request.app.state, "audit", None)
    if trail is None:
        return
    query = None
    if with_query:
        query = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    trail.record(
        principal_of(request.scope),
        source=SOURCE,
        interaction=interaction,
        action=action or ACTIONS.get(interaction, "E"),
        entities=[literal(e) if not e.startswith("urn:") else e for e in dict.fromkeys(entities)],
        patients=list(dict.fromkeys(patients)),
        outcome=outcome,
        query=query,
    )
