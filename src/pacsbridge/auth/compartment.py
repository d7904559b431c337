"""The patient compartment: which resources belong to a patient, as data.

From FHIR R4's CompartmentDefinition ``patient``, reduced to the types we serve and to
the subject of each (not performers). A patient token sees its Patient and the resources
listed here that point to it; types not listed (Endpoint, Practitioner, Organization)
hold no patient data and are governed by scopes alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pacsbridge.store.search import SearchRegistry

# The parameter whose Patient reference puts a resource in the compartment; a patient's
# searches are restricted by the same parameter, so what a search finds and what a read
# allows never differ. The Patient itself is matched by its id.
COMPARTMENT: dict[str, str] = {
    "Patient": "_id", "ServiceRequest": "patient", "Appointment": "patient",
    "ImagingStudy": "patient", "DiagnosticReport": "patient", "Observation": "patient",
    "Procedure": "patient", "AuditEvent": "patient",
}  # fmt: skip


def holds_patient_data(resource_type: str) -> bool:
    return resource_type in COMPARTMENT


def patients_of(resource: dict[str, Any], registry: SearchRegistry) -> set[str]:
    """The ids of the patients whose compartment holds ``resource``."""
    resource_type = resource.get("resourceType", "")
    found: set[str] = set()
    if resource_type == "Patient" and isinstance(resource.get("id"), str):  # checked later
        found.add(resource["id"])
    param = registry.get(resource_type, COMPARTMENT.get(resource_type, ""))
    if param is not None and param.type == "reference":
        for path in param.steps:
            for reference in _references(resource, path):
                kind, _, rest = reference.partition("/")
                if kind == "Patient" and rest:
                    found.add(rest.split("/")[0])
    return found


def in_compartment(resource: dict[str, Any], patient: str, registry: SearchRegistry) -> bool:
    """Whether a patient token for ``patient`` may see this resource at all."""
    if not holds_patient_data(resource.get("resourceType", "")):
        return True
    return patient in patients_of(resource, registry)


def _references(node: Any, path: Iterable[Any]) -> list[str]:
    items = [node]
    for step in path:
        following = []
        for item in items:
            value = item.get(step.name) if isinstance(item, dict) else None
            for child in value if isinstance(value, list) else [value]:
                if child is None:
                    continue
                if step.key is not None and (
                    not isinstance(child, dict) or child.get(step.key) != step.value
                ):
                    continue
                following.append(child)
        items = following
    return [
        item["reference"] for item in items
        if isinstance(item, dict) and isinstance(item.get("reference"), str)
    ]  # fmt: skip
