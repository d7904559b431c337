"""One access to patient data as a FHIR R4 AuditEvent: who, what, when, from where, outcome.

Pure: a principal and the facts of one request in, a resource body out. ``audit.py``
queues and stores the facts; :func:`audit_event_of` renders them when they are read.
The shape follows the R4 AuditEvent resource (type ``rest``, the RESTful interaction as
subtype) and, where R4 leaves a choice, IHE's Basic Audit Log
Patterns: the requestor is the first agent, the client application a second one, each
patient an entity in the role Patient so that ``AuditEvent?patient=`` finds the event.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from datetime import UTC, datetime
from typing import Any

from pacsbridge.auth.principal import Principal
from pacsbridge.auth.scopes import Scopes
from pacsbridge.store.audit_log import AuditRecord

MAX_ENTITIES = 20
"""References kept per event; a search touching more is still recorded by its query."""

SOURCES = frozenset({"fhir", "dicomweb", "console", "api"})
ACTIONS = frozenset("CRUDE")  # R4 audit-event-action: create read update delete execute

AUDIT_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL_INTERACTION = "http://hl7.org/fhir/restful-interaction"
PACSBRIDGE_INTERACTION = "https://pacsbridge.org/fhir/CodeSystem/interaction"
PACSBRIDGE_FACE = "https://pacsbridge.org/fhir/CodeSystem/face"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SECURITY_ROLE = "http://terminology.hl7.org/CodeSystem/extra-security-role-type"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
USER_SYSTEM = "urn:pacsbridge:user"
CLIENT_SYSTEM = "urn:pacsbridge:client"

# http://hl7.org/fhir/R4/codesystem-restful-interaction.html
RESTFUL_CODES = frozenset({
    "read", "vread", "update", "patch", "delete", "history", "history-instance",
    "history-type", "history-system", "create", "search", "search-type", "search-system",
    "capabilities", "transaction", "batch", "operation",
})  # fmt: skip

_LITERAL = re.compile(r"[A-Z][A-Za-z]*/[A-Za-z0-9\-.]{1,64}").fullmatch
_PATIENT_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}").fullmatch
_DICOM_UID = re.compile(r"(?:urn:dicom:uid:|urn:oid:)([0-9.]{1,64})").fullmatch

_HUMAN = {"system": SECURITY_ROLE, "code": "humanuser", "display": "human user"}
_APPLICATION = {"system": DCM, "code": "110150", "display": "Application"}
_PERSON = {"system": ENTITY_TYPE, "code": "1", "display": "Person"}
_SYSTEM_OBJECT = {"system": ENTITY_TYPE, "code": "2", "display": "System Object"}
_ROLE_PATIENT = {"system": OBJECT_ROLE, "code": "1", "display": "Patient"}
_ROLE_REPORT = {"system": OBJECT_ROLE, "code": "3", "display": "Report"}
_ROLE_RESOURCE = {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"}
_ROLE_QUERY = {"system": OBJECT_ROLE, "code": "24", "display": "Query"}


def build_audit_event(
    principal: Principal,
    *,
    source: str,
    interaction: str,
    action: str,
    entities: list[str],
    patients: list[str],
    outcome: int,
    query: str | None = None,
    site: str | None = None,
    recorded: datetime | None = None,
) -> dict[str, Any]:
    """The AuditEvent of one request; ``outcome`` is the HTTP status answered.

    ``entities`` are literal references (``ImagingStudy/1``) or DICOM UIDs
    (``urn:dicom:uid:1.2.3``); ``patients`` are Patient ids. A ``ValueError`` names a
    source or action outside the lists above: a face's bug, never the client's.
    """
    check_facts(source, action)
    system = RESTFUL_INTERACTION if interaction in RESTFUL_CODES else PACSBRIDGE_INTERACTION
    moment = (recorded or datetime.now(UTC)).astimezone(UTC)
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "type": {"system": AUDIT_EVENT_TYPE, "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": system, "code": interaction}],
        "action": action,
        "recorded": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "outcome": _outcome(outcome),
        "outcomeDesc": f"HTTP {outcome}",
        "agent": _agents(principal),
        "source": _source(source, site),
    }
    entity = _entities(entities, patients, query)
    if entity:
        event["entity"] = entity
    return event


def check_facts(source: str, action: str) -> None:
    """A ``ValueError`` for a face's bug, raised where it records, not later in the writer."""
    if source not in SOURCES:
        raise ValueError(f"unknown audit source {source!r} (known: {sorted(SOURCES)})")
    if action not in ACTIONS:
        raise ValueError(f"unknown AuditEvent.action {action!r} (one of C R U D E)")


def audit_event_of(record: AuditRecord) -> dict[str, Any]:
    """The stored facts of one access as the AuditEvent resource served to administrators."""
    who = Principal(kind=record.kind, subject=record.subject, scopes=Scopes("", ()),
                    client_id=record.client_id, fhir_user=record.fhir_user, role=record.role,
                    address=record.address)  # fmt: skip
    recorded = record.recorded.replace(tzinfo=UTC)
    body = build_audit_event(
        who, source=record.face, interaction=record.interaction, action=record.action,
        entities=record.entities, patients=record.patients, outcome=record.status,
        query=record.query, site=record.site, recorded=recorded,
    )  # fmt: skip
    stamp = recorded.isoformat(timespec="microseconds").replace("+00:00", "Z")
    return {"resourceType": "AuditEvent", "id": record.event_id,
            "meta": {"versionId": "1", "lastUpdated": stamp}, **body}  # fmt: skip


def _outcome(status: int) -> str:
    """R4 audit-event-outcome: 0 success, 4 minor failure (4xx), 8 serious failure (5xx)."""
    if status < 400:
        return "0"
    return "4" if status < 500 else "8"


def _agents(principal: Principal) -> list[dict[str, Any]]:
    """The requestor, then the client application when it is not the requestor itself."""
    requestor: dict[str, Any] = {"who": _who(principal), "requestor": True}
    if principal.kind in ("user", "patient"):
        requestor["type"] = {"coding": [_HUMAN]}
    elif principal.kind == "system":
        requestor["type"] = {"coding": [_APPLICATION]}
    if principal.client_id:
        requestor["altId"] = principal.client_id
    requestor["name"] = principal.subject
    network = _network(principal.address)
    if network:
        requestor["network"] = network
    agents = [requestor]
    if principal.client_id and principal.client_id != principal.subject:
        agents.append({
            "type": {"coding": [_APPLICATION]},
            "who": {"identifier": {"system": CLIENT_SYSTEM, "value": principal.client_id}},
            "name": principal.client_id,
            "requestor": False,
        })  # fmt: skip
    return agents


def _who(principal: Principal) -> dict[str, Any]:
    """The FHIR user when the token names one, else the account or client by identifier."""
    if principal.fhir_user and _LITERAL(principal.fhir_user):
        return {"reference": principal.fhir_user}
    system = CLIENT_SYSTEM if principal.kind == "system" else USER_SYSTEM
    return {"identifier": {"system": system, "value": principal.subject}}


def _network(address: str | None) -> dict[str, str] | None:
    """R4 network-type: 2 for an IP address, 1 for a machine name."""
    if not address:
        return None
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return {"address": address, "type": "1"}
    return {"address": address, "type": "2"}


def _source(face: str, site: str | None) -> dict[str, Any]:
    """pacsbridge observed the event, as a web server (security-source-type 3), on a face."""
    source: dict[str, Any] = {
        "observer": {"display": "pacsbridge"},
        "type": [{"system": SOURCE_TYPE, "code": "3", "display": "Web Server"},
                 {"system": PACSBRIDGE_FACE, "code": face}],
    }  # fmt: skip
    if site:
        source["site"] = site
    return source


def _entities(entities: list[str], patients: list[str], query: str | None) -> list[dict]:
    """The patients first (role Patient), then what was touched, then the query asked."""
    patient_ids = list(dict.fromkeys(p for p in patients if _PATIENT_ID(p)))
    others = []
    for text in dict.fromkeys(entities):
        if text.startswith("Patient/") and _PATIENT_ID(text[8:]):
            if text[8:] not in patient_ids:
                patient_ids.append(text[8:])
        else:
            others.append(text)
    found = [
        {"what": {"reference": f"Patient/{p}"}, "type": _PERSON, "role": _ROLE_PATIENT}
        for p in patient_ids[:MAX_ENTITIES]
    ]
    found += [_entity(text) for text in others[:MAX_ENTITIES]]
    if query is not None:
        encoded = base64.b64encode(query.encode("utf-8")).decode("ascii")
        found.append({"type": _SYSTEM_OBJECT, "role": _ROLE_QUERY, "query": encoded})
    return found


def _entity(text: str) -> dict[str, Any]:
    """A resource by reference; a DICOM object by its UID, as ImagingStudy.identifier does.

    DICOM PS3.15 A.5 codes a study as a system object in the role Report. The UID is
    also the entity's name, so that ``entity-name:exact=<uid>`` finds it while the
    search does not support the ``:identifier`` modifier.
    """
    if _LITERAL(text):
        return {"what": {"reference": text}, "type": _SYSTEM_OBJECT, "role": _ROLE_RESOURCE}
    uid = _DICOM_UID(text)
    if uid:
        identifier = {"system": "urn:dicom:uid", "value": f"urn:oid:{uid[1]}"}
        return {"what": {"identifier": identifier}, "type": _SYSTEM_OBJECT,
                "role": _ROLE_REPORT, "name": uid[1]}  # fmt: skip
    return {"type": _SYSTEM_OBJECT, "name": text[:200]}
