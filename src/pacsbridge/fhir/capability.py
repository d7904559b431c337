"""The CapabilityStatement at ``/metadata``, generated from what really runs.

Resource types and interactions come from ``providers.PROVIDERS``, search parameters
from the store's registry, formats from ``negotiation``: nothing is written by hand, so
the statement cannot claim what the server does not do.
"""

from __future__ import annotations

from typing import Any

from pacsbridge import __version__
from pacsbridge.fhir.providers import PROVIDERS, SYSTEM_INTERACTIONS
from pacsbridge.store.search.params import SearchRegistry
from pacsbridge.store.search.parse import RESULT_PARAMETERS

_RELEASED = "2026-11-28"


def capability_statement(base: str, registry: SearchRegistry, started: str) -> dict[str, Any]:
    resources = []
    for provider in PROVIDERS:
        params = registry.for_resource(provider.type)
        entry: dict[str, Any] = {
            "type": provider.type,
            "documentation": provider.documentation,
            "interaction": [{"code": code} for code in provider.interactions],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": provider.conditional_create,
            "conditionalRead": "modified-since",
            "conditionalUpdate": provider.conditional_update,
            "conditionalDelete": "multiple" if provider.conditional_delete else "not-supported",
            "referencePolicy": ["literal", "logical"],
            "searchInclude": sorted(
                f"{provider.type}:{p.name}" for p in params if p.type == "reference"
            ),
            "searchRevInclude": sorted(
                f"{other.type}:{p.name}"
                for other in PROVIDERS
                for p in registry.for_resource(other.type)
                if p.type == "reference" and (not p.targets or provider.type in p.targets)
            ),
            "searchParam": [
                {
                    "name": p.name,
                    "type": p.type,
                    **({"documentation": p.description} if p.description else {}),
                }
                for p in sorted(params, key=lambda p: p.name)
            ],  # fmt: skip
        }
        resources.append({k: v for k, v in entry.items() if v != []})  # FHIR JSON: no []
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": started,
        "publisher": "pacsbridge",
        "kind": "instance",
        "software": {"name": "pacsbridge", "version": __version__, "releaseDate": _RELEASED},
        "implementation": {"description": "pacsbridge FHIR R4 server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/fhir+xml", "json", "xml"],
        "rest": [
            {
                "mode": "server",
                "documentation": "Search result parameters: "
                + ", ".join(sorted(RESULT_PARAMETERS)),
                "security": _security(base),
                "resource": resources,
                "interaction": [{"code": code} for code in SYSTEM_INTERACTIONS],
            }
        ],
    }


def _security(base: str) -> dict[str, Any]:
    """SMART App Launch's declaration of the authorization server (conformance, 2.x)."""
    server = base.removesuffix("/fhir/R4")
    uris = [
        {"url": name, "valueUri": f"{server}/auth/{name}"}
        for name in ("authorize", "token", "revoke", "introspect")
    ]
    return {
        "cors": True,
        "service": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                        "code": "SMART-on-FHIR",
                    }
                ],
                "text": "OAuth2 using SMART-on-FHIR profile (see .well-known/smart-configuration)",
            }
        ],
        "extension": [{"url": _OAUTH_URIS, "extension": uris}],
    }


_OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
