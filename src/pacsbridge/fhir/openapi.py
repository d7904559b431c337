"""An OpenAPI 3.1 description of the FHIR face, at ``/fhir/R4/openapi.json``.

Generated like the CapabilityStatement, from ``providers.PROVIDERS`` and the search
parameter registry, so that API tools (schemathesis, client generators, gateways) see
exactly the operations that run. Resource bodies take their elements from the
``fhir.resources`` models the server validates with; the nesting below the first level
is left open, because the validator, not this document, is the authority on content.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Any

from pacsbridge import __version__
from pacsbridge.fhir.providers import PROVIDERS, ResourceProvider
from pacsbridge.store.search.params import SearchRegistry

FHIR_JSON = "application/fhir+json"
_ID = {"type": "string", "pattern": "^[A-Za-z0-9\\-.]{1,64}$"}
_OUTCOME = {"$ref": "#/components/schemas/OperationOutcome"}
_RESULT_PARAMETERS = {
    "_count": {"type": "integer", "minimum": 0},
    "_sort": {"type": "string"},
    "_include": {"type": "string"},
    "_revinclude": {"type": "string"},
    "_summary": {"type": "string", "enum": ["true", "false", "count", "text", "data"]},
    "_elements": {"type": "string"},
    "_total": {"type": "string", "enum": ["none", "estimate", "accurate"]},
}
_CONDITIONAL_HEADERS = {
    "read": ("If-None-Match", "If-Modified-Since"),
    "update": ("If-Match", "Prefer"),
    "create": ("If-None-Exist", "Prefer"),
    "delete": ("If-Match",),
}


def openapi_document(base: str, registry: SearchRegistry) -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/metadata": {
            "get": _operation("capabilities", "The CapabilityStatement.", "CapabilityStatement")
        },
        "/": {"post": _system_bundle()},
        "/_history": {
            "get": _operation(
                "history-system",
                "Changes to every resource.",
                "Bundle",
                parameters=_history_parameters(),
            )
        },
    }
    schemas: dict[str, Any] = {"OperationOutcome": _resource_schema("OperationOutcome")}
    for provider in PROVIDERS:
        paths.update(_type_paths(provider, registry))
        schemas[provider.type] = _resource_schema(provider.type)
    for extra in ("Bundle", "CapabilityStatement"):
        schemas[extra] = _resource_schema(extra)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pacsbridge FHIR R4",
            "version": __version__,
            "description": "FHIR R4 (4.0.1) REST API. Errors are OperationOutcome resources. "
            "Authorization: SMART on FHIR (see .well-known/smart-configuration).",
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "smart": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
        "security": [{}, {"smart": []}],
    }


def _type_paths(provider: ResourceProvider, registry: SearchRegistry) -> dict[str, Any]:
    kind = provider.type
    body = _body(kind)
    search = _search_parameters(registry, kind)
    instance: dict[str, Any] = {}
    collection: dict[str, Any] = {}
    if provider.supports("read"):
        instance["get"] = _operation(f"read-{kind}", f"Read a {kind}.", kind,
                                     parameters=[_path_id(), *_headers("read")])  # fmt: skip
    if provider.supports("update"):
        instance["put"] = _operation(f"update-{kind}", f"Update (or create) a {kind} by id.",
                                     kind, parameters=[_path_id(), *_headers("update")],
                                     body=body)  # fmt: skip
    if provider.supports("delete"):
        instance["delete"] = _operation(f"delete-{kind}", f"Delete a {kind}.", None,
                                        parameters=[_path_id(), *_headers("delete")])  # fmt: skip
    if provider.supports("search-type"):
        collection["get"] = _operation(f"search-{kind}", f"Search {kind} resources.",
                                       "Bundle", parameters=search)  # fmt: skip
    if provider.supports("create"):
        collection["post"] = _operation(f"create-{kind}", f"Create a {kind}.", kind,
                                        parameters=list(_headers("create")), body=body)  # fmt: skip
    if provider.conditional_update:
        collection["put"] = _operation(f"conditional-update-{kind}",
                                       f"Update the one {kind} the search finds.", kind,
                                       parameters=search, body=body)  # fmt: skip
    if provider.conditional_delete:
        collection["delete"] = _operation(f"conditional-delete-{kind}",
                                          f"Delete every {kind} the search finds.", None,
                                          parameters=search)  # fmt: skip
    paths = {f"/{kind}/{{id}}": instance, f"/{kind}": collection}
    if provider.supports("search-type"):
        form = {"type": "object", "properties": {p["name"]: p["schema"] for p in search}}
        paths[f"/{kind}/_search"] = {"post": _operation(
            f"search-post-{kind}", f"Search {kind} with form-encoded parameters.", "Bundle",
            body={"application/x-www-form-urlencoded": {"schema": form}})}  # fmt: skip
    if provider.supports("history-type"):
        paths[f"/{kind}/_history"] = {"get": _operation(
            f"history-type-{kind}", f"Changes to {kind} resources.", "Bundle",
            parameters=_history_parameters())}  # fmt: skip
    if provider.supports("history-instance"):
        paths[f"/{kind}/{{id}}/_history"] = {"get": _operation(
            f"history-instance-{kind}", f"Versions of one {kind}.", "Bundle",
            parameters=[_path_id(), *_history_parameters()])}  # fmt: skip
    if provider.supports("vread"):
        version = {"name": "vid", "in": "path", "required": True, "schema": _ID}
        paths[f"/{kind}/{{id}}/_history/{{vid}}"] = {"get": _operation(
            f"vread-{kind}", f"One version of a {kind}.", kind,
            parameters=[_path_id(), version])}  # fmt: skip
    return {path: item for path, item in paths.items() if item}


def _operation(operation_id: str, summary: str, returns: str | None, *,
               parameters: list[dict[str, Any]] | None = None,
               body: dict[str, Any] | None = None) -> dict[str, Any]:  # fmt: skip
    success: dict[str, Any] = {"description": "Success"}
    if returns is not None:
        schema = {"$ref": f"#/components/schemas/{returns}"}
        success["content"] = {FHIR_JSON: {"schema": schema}}
    operation: dict[str, Any] = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {
            "200": success,
            **({"201": success} if body is not None and returns != "Bundle" else {}),
            "default": {
                "description": "An error, as an OperationOutcome",
                "content": {FHIR_JSON: {"schema": _OUTCOME}},
            },
        },
    }
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        operation["requestBody"] = {"required": True, "content": body}
    return operation


def _system_bundle() -> dict[str, Any]:
    return _operation("transaction", "Process a batch or transaction Bundle.", "Bundle",
                      body=_body("Bundle"))  # fmt: skip


def _body(kind: str) -> dict[str, Any]:
    return {FHIR_JSON: {"schema": {"$ref": f"#/components/schemas/{kind}"}}}


def _path_id() -> dict[str, Any]:
    return {"name": "id", "in": "path", "required": True, "schema": _ID}


def _headers(interaction: str) -> list[dict[str, Any]]:
    return [{"name": name, "in": "header", "schema": {"type": "string"}}
            for name in _CONDITIONAL_HEADERS[interaction]]  # fmt: skip


def _history_parameters() -> list[dict[str, Any]]:
    return [
        {"name": "_count", "in": "query", "schema": _RESULT_PARAMETERS["_count"]},
        {"name": "_since", "in": "query", "schema": {"type": "string"}},
        {"name": "_at", "in": "query", "schema": {"type": "string"}},
    ]


def _search_parameters(registry: SearchRegistry, kind: str) -> list[dict[str, Any]]:
    found = [
        {"name": p.name, "in": "query", "description": p.description or f"{p.type} parameter",
         "schema": {"type": "string"}}
        for p in sorted(registry.for_resource(kind), key=lambda p: p.name)
    ]  # fmt: skip
    names = {p["name"] for p in found}
    found += [{"name": name, "in": "query", "schema": schema}
              for name, schema in _RESULT_PARAMETERS.items() if name not in names]  # fmt: skip
    return found


@cache
def _resource_schema(kind: str) -> dict[str, Any]:
    """The first level of a resource's elements, from its ``fhir.resources`` model."""
    module = import_module(f"fhir.resources.{kind.lower()}")
    model = getattr(module, kind).model_json_schema()
    properties: dict[str, Any] = {"resourceType": {"const": kind}}
    for name, element in model.get("properties", {}).items():
        if name != "fhir_comments":
            properties[name] = _without_null(element)
    return {"type": "object", "required": ["resourceType"], "properties": properties,
            "description": f"FHIR R4 {kind}"}  # fmt: skip


def _without_null(element: dict[str, Any]) -> dict[str, Any]:
    """FHIR JSON never holds null: keep the other branches of pydantic's ``X | None``."""
    kept = {k: v for k, v in element.items()
            if k in ("type", "items", "format", "pattern", "enum", "anyOf", "minLength",
                     "maxLength", "minimum", "maximum", "title")}  # fmt: skip
    branches = [b for b in kept.pop("anyOf", []) if b.get("type") != "null"]
    if len(branches) == 1:
        kept.update(branches[0])
    elif branches:
        kept["anyOf"] = branches
    return kept
