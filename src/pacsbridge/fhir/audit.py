"""What the FHIR face tells the audit trail: who touched which patient's data, and how.

Called once per HTTP request after the answer is known, refusals included. Requests that
touch no patient data (metadata, Endpoint, Practitioner, Organization, the audit trail
itself) are not recorded. Recording only enqueues; the trail writes in batches.
"""

from __future__ import annotations

from pacsbridge.auth.audit import AuditTrail
from pacsbridge.auth.compartment import holds_patient_data, patients_of
from pacsbridge.auth.principal import Principal
from pacsbridge.fhir.interactions import FhirRequest, FhirResponse
from pacsbridge.store.search import SearchRegistry

MAX_ENTITIES = 20
_ACTIONS = {"GET": "R", "HEAD": "R", "POST": "C", "PUT": "U", "PATCH": "U", "DELETE": "D"}


def audit_request(
    trail: AuditTrail,
    principal: Principal,
    request: FhirRequest | None,
    status: int,
    answer: FhirResponse | None,
    registry: SearchRegistry,
) -> None:
    if not trail.enabled or request is None:
        return
    resource_type = request.resource_type
    if resource_type is None and not request.history and request.method != "POST":
        return  # metadata and unknown paths
    if resource_type is not None and (
        not holds_patient_data(resource_type) or resource_type == "AuditEvent"
    ):
        return
    interaction = _interaction(request)
    entities: list[str] = []
    patients: set[str] = set()
    if request.id and resource_type:
        entities.append(f"{resource_type}/{request.id}")
    body = answer.body if answer is not None else None
    if answer is not None and answer.stored is not None:
        patients |= patients_of(answer.stored.resource, registry)
    elif isinstance(body, dict) and body.get("resourceType") == "Bundle":
        for entry in body.get("entry") or []:
            resource = entry.get("resource")
            if isinstance(resource, dict) and resource.get("resourceType") != "OperationOutcome":
                if len(entities) < MAX_ENTITIES and resource.get("id"):
                    entities.append(f"{resource['resourceType']}/{resource['id']}")
                patients |= patients_of(resource, registry)
    if principal.patient:
        patients.add(principal.patient)
    action = _ACTIONS.get(request.method, "E")
    if resource_type is None and request.method == "POST":
        action = "E"  # a batch or transaction: each entry has its own action
    trail.record(
        principal,
        source="fhir",
        interaction=interaction,
        action=action,
        entities=entities,
        patients=sorted(patients),
        outcome=status,
        query=request.criteria if interaction in ("search-type", "history-type") else None,
    )


def _interaction(request: FhirRequest) -> str:
    if request.resource_type is None:
        return "history-system" if request.history else "batch/transaction"
    if request.history:
        if request.version:
            return "vread"
        return "history-instance" if request.id else "history-type"
    if request.method in ("GET", "HEAD"):
        return "read" if request.id else "search-type"
    return {"POST": "create", "PUT": "update", "DELETE": "delete"}.get(request.method, "operation")
