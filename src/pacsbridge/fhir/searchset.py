"""Bundles the searches and histories answer with (R4 bundle.html, http.html#history).

Links are built from the request's own parameters, so a ``next`` link repeats the search
exactly, with the cursor of the last row shown.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson

from pacsbridge.errors import Issue
from pacsbridge.fhir.outcome import operation_outcome
from pacsbridge.fhir.summary import shape
from pacsbridge.store.resources import HistoryPage, format_instant, utc_now
from pacsbridge.store.search.parse import SearchRequest
from pacsbridge.store.search.query import SearchResult

if TYPE_CHECKING:
    from pacsbridge.fhir.interactions import FhirRequest

_NOT_IN_LINKS = ("_cursor", "_format", "_pretty")


def page_url(base: str, path: str, params: list[tuple[str, str]], cursor: str | None) -> str:
    kept = [(k, v) for k, v in params if k not in _NOT_IN_LINKS]
    if cursor:
        kept.append(("_cursor", cursor))
    query = urlencode(kept, safe=":|,/$")
    return f"{base}/{path}" + (f"?{query}" if query else "")


def searchset_bundle(
    base: str, params: list[tuple[str, str]], request: SearchRequest, result: SearchResult
) -> dict[str, Any]:
    path = request.resource_type
    links = [
        {"relation": "self", "url": page_url(base, path, params, request.cursor)},
        {"relation": "first", "url": page_url(base, path, params, None)},
    ]
    if result.next_cursor:
        links.append({"relation": "next", "url": page_url(base, path, params, result.next_cursor)})
    entries = [_entry(base, item, "match", request) for item in result.matches]
    entries += [_entry(base, item, "include", request) for item in result.included]
    if request.unknown:
        text = f"ignored unknown search parameter(s): {', '.join(request.unknown)}"
        outcome = operation_outcome([Issue(text, severity="warning", code="not-supported")])
        entries.append({"resource": outcome, "search": {"mode": "outcome"}})
    bundle: dict[str, Any] = {
        "resourceType": "Bundle",
        "id": _bundle_id(),
        "meta": {"lastUpdated": format_instant(utc_now())},
        "type": "searchset",
    }
    if result.total is not None:
        bundle["total"] = result.total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def _entry(base: str, item: Any, mode: str, request: SearchRequest) -> dict[str, Any]:
    body = orjson.loads(item.content)
    if request.summary or request.elements:
        body = shape(body, request.summary, request.elements)
    return {"fullUrl": f"{base}/{item.type}/{item.id}", "resource": body, "search": {"mode": mode}}


def history_bundle(
    request: FhirRequest, page: HistoryPage, next_cursor: str | None
) -> dict[str, Any]:
    path = "/".join(p for p in (request.resource_type, request.id) if p)
    path = f"{path}/_history" if path else "_history"
    links = [{"relation": "self", "url": page_url(request.base, path, request.params,
                                                  request.param("_cursor"))}]  # fmt: skip
    if next_cursor:
        links.append(
            {"relation": "next", "url": page_url(request.base, path, request.params, next_cursor)}
        )
    entries = []
    for version in page.versions:
        url = f"{version.type}/{version.id}"
        entry: dict[str, Any] = {"fullUrl": f"{request.base}/{url}"}
        if version.content is not None:
            entry["resource"] = orjson.loads(version.content)
        method = version.method
        entry["request"] = {"method": method, "url": url if method != "POST" else version.type}
        status = {"POST": "201 Created", "PUT": "200 OK", "DELETE": "204 No Content"}[method]
        entry["response"] = {
            "status": status,
            "etag": f'W/"{version.version_id}"',
            "lastModified": format_instant(version.last_updated),
        }
        entries.append(entry)
    bundle: dict[str, Any] = {"resourceType": "Bundle", "id": _bundle_id(), "type": "history"}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["link"] = links
    if entries:
        bundle["entry"] = entries
    return bundle


def _bundle_id() -> str:
    return str(uuid.uuid4())
