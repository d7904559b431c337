"""Batch and transaction Bundles posted to the base URL (R4 http.html#transaction).

A batch runs each entry as if it had been sent alone. A transaction runs every entry in
one store transaction, in the order the specification prescribes (DELETE, POST, PUT,
GET), after giving each new resource its id so that ``urn:uuid:`` references between
entries (forward ones too) and conditional references (``Patient?identifier=…``) point at
the right resources. If one entry fails, nothing of the transaction is kept.
"""

from __future__ import annotations

import uuid
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import orjson

from pacsbridge.auth.principal import Principal
from pacsbridge.errors import (
    BadValue,
    MultipleMatches,
    NotAuthorized,
    PacsbridgeError,
    TooCostly,
    UnknownKey,
)
from pacsbridge.fhir.authorization import check_writable, limit_for
from pacsbridge.fhir.interactions import (
    FhirRequest,
    FhirResponse,
    StoreAccess,
    answer_write,
    dispatch,
)
from pacsbridge.fhir.outcome import outcome_for
from pacsbridge.store import Store, Transaction
from pacsbridge.store.resources import format_instant

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


def process_bundle(
    store: Store, bundle: dict[str, Any], outer: FhirRequest, max_entries: int
) -> FhirResponse:
    if bundle.get("resourceType") != "Bundle":
        raise BadValue("POST to the base URL takes a Bundle of type batch or transaction")
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise BadValue(f"a Bundle of type {kind!r} cannot be processed; use batch or transaction",
                       "Bundle.type")  # fmt: skip
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise BadValue("Bundle.entry must be a list", "Bundle.entry")
    if len(entries) > max_entries:
        raise TooCostly(f"the Bundle has {len(entries)} entries; at most {max_entries} are taken")
    requests = [_entry_request(entry, n, outer) for n, entry in enumerate(entries)]
    if kind == "batch":
        answers = [_batch_entry(store, request) for request in requests]
    else:
        answers = _transaction(store, entries, requests, outer)
    response_bundle = {
        "resourceType": "Bundle",
        "id": str(uuid.uuid4()),
        "type": f"{kind}-response",
        "entry": [_response_entry(outer, answer) for answer in answers],
    }
    return FhirResponse(200, body=response_bundle)


def _entry_request(entry: Any, n: int, outer: FhirRequest) -> FhirRequest:
    where = f"Bundle.entry[{n}]"
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise BadValue("each entry needs a request (method and url)", f"{where}.request")
    spec = entry["request"]
    method, url = spec.get("method"), spec.get("url")
    if method not in _ORDER or not isinstance(url, str) or not url:
        raise BadValue("entry.request needs a method (GET POST PUT DELETE) and a url",
                       f"{where}.request")  # fmt: skip
    if url.startswith(outer.base):
        url = url[len(outer.base) :]
    parts = urlsplit(url.lstrip("/"))
    segments = [s for s in parts.path.split("/") if s]
    request = FhirRequest(method=method, base=outer.base, params=parse_qsl(parts.query, True),
                          principal=outer.principal)  # fmt: skip
    if segments and segments[0] != "_history":
        request.resource_type = segments[0]
    if len(segments) > 1 and segments[1] != "_history":
        request.id = segments[1]
    if "_history" in segments:
        request.history = True
        position = segments.index("_history")
        if len(segments) > position + 1:
            request.version = segments[position + 1]
    headers = {"prefer": outer.headers.get("prefer", "")}
    for field, header in (("ifMatch", "if-match"), ("ifNoneExist", "if-none-exist"),
                          ("ifNoneMatch", "if-none-match"),
                          ("ifModifiedSince", "if-modified-since")):  # fmt: skip
        if spec.get(field):
            headers[header] = spec[field]
    request.headers = headers
    resource = entry.get("resource")
    if method in ("POST", "PUT") and not isinstance(resource, dict):
        raise BadValue(f"a {method} entry needs a resource", f"{where}.resource")
    request.body = resource
    return request


def _batch_entry(store: Store, request: FhirRequest) -> FhirResponse:
    try:  # each entry commits alone, so each is the one run again after a deadlock
        return store.database.retrying(dispatch, StoreAccess(store), request)
    except Exception as exc:  # each batch entry fails alone (R4 3.1.0.11.1)
        status, outcome = outcome_for(exc)
        return FhirResponse(status, body=outcome)


def _transaction(
    store: Store, entries: list[Any], requests: list[FhirRequest], outer: FhirRequest
) -> list[FhirResponse]:
    answers: list[FhirResponse | None] = [None] * len(requests)
    order = sorted(range(len(requests)), key=lambda n: _ORDER[requests[n].method])
    if not outer.principal.is_open:
        _check_conditionals(outer.principal, entries, requests)
    with store.transaction("fhir") as transaction:
        targets = _assign_ids(transaction, entries, requests)
        for request in requests:
            if request.body is not None:
                request.body = _rewrite_references(transaction, request.body, targets)
        for n in order:
            try:
                answers[n] = _transaction_entry(transaction, requests[n], targets.get(n))
            except PacsbridgeError as exc:
                exc.location = exc.location or f"Bundle.entry[{n}]"
                exc.text = f"entry {n} ({requests[n].method}): {exc.text}"
                raise
    return [answer for answer in answers if answer is not None]


def _assign_ids(
    transaction: Transaction, entries: list[Any], requests: list[FhirRequest]
) -> dict[Any, Any]:
    """Map each entry's fullUrl to ``Type/id``; entry numbers of POSTs to (id, exists)."""
    targets: dict[Any, Any] = {}
    for n, (entry, request) in enumerate(zip(entries, requests, strict=True)):
        full_url = entry.get("fullUrl")
        if request.method == "POST" and request.resource_type:
            criteria = request.headers.get("if-none-exist")
            found = transaction.resolve_ids(request.resource_type, criteria) if criteria else []
            if len(found) > 1:
                raise MultipleMatches(f"entry {n}: ifNoneExist matches several resources")
            res_id, exists = (found[0], True) if found else (str(uuid.uuid4()), False)
            targets[n] = (res_id, exists)
            if full_url:
                targets[full_url] = f"{request.resource_type}/{res_id}"
        elif request.method == "PUT" and request.resource_type and request.id and full_url:
            targets[full_url] = f"{request.resource_type}/{request.id}"
    return targets


def _check_conditionals(
    principal: Principal, entries: list[Any], requests: list[FhirRequest]
) -> None:
    """Conditional references and ifNoneExist search the store: only with unlimited search.

    Whether such criteria match anything would otherwise tell a limited token about
    resources it may not see.
    """
    searched = {r.resource_type for r in requests if r.headers.get("if-none-exist")}
    searched |= {ref.split("?", 1)[0] for ref in _conditional_references(entries)}
    for res_type in sorted(t for t in searched if t):
        if not limit_for(principal, res_type, "search-type").unlimited:
            raise NotAuthorized(
                f"conditional references and ifNoneExist on {res_type} need a token whose"
                f" search of {res_type} is not limited to a patient or scope parameters"
            )


def _conditional_references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                head = item.split("?", 1)[0]
                if "?" in item and "/" not in head:
                    found.append(item)
            else:
                found += _conditional_references(item)
        return found
    if isinstance(value, list):
        return [ref for item in value for ref in _conditional_references(item)]
    return []


def _rewrite_references(transaction: Transaction, value: Any, targets: dict[Any, Any]) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "reference" and isinstance(item, str):
                out[key] = _resolve_reference(transaction, item, targets)
            else:
                out[key] = _rewrite_references(transaction, item, targets)
        return out
    if isinstance(value, list):
        return [_rewrite_references(transaction, item, targets) for item in value]
    return value


def _resolve_reference(transaction: Transaction, reference: str, targets: dict[Any, Any]) -> str:
    if reference in targets:
        return targets[reference]
    if reference.startswith("urn:uuid:") or reference.startswith("urn:oid:"):
        raise UnknownKey(f"reference {reference} names no entry of this transaction")
    if "?" in reference and "/" not in reference.split("?", 1)[0]:
        res_type, criteria = reference.split("?", 1)
        found = transaction.resolve_ids(res_type, criteria)
        if len(found) != 1:
            raise (
                MultipleMatches(
                    f"conditional reference {reference} matches {len(found)} resources, not one"
                )
                if found
                else UnknownKey(f"conditional reference {reference} matches nothing")
            )
        return f"{res_type}/{found[0]}"
    return reference


def _transaction_entry(
    transaction: Transaction, request: FhirRequest, assigned: tuple[str, bool] | None
) -> FhirResponse:
    if request.method == "POST" and assigned is not None and request.id is None:
        res_id, exists = assigned
        if exists:
            stored = transaction.read(request.resource_type or "", res_id)
            return answer_write(request, stored, 200, location=True)
        body = dict(request.body or {})
        if body.get("resourceType") != request.resource_type:
            raise BadValue(f"the entry's resource is not a {request.resource_type}")
        limit = limit_for(request.principal, request.resource_type, "create")
        check_writable(limit, body, transaction.store.registry)
        body.pop("id", None)
        stored = transaction.create(body, res_id=res_id)
        return answer_write(request, stored, 201, location=True)
    return dispatch(StoreAccess(transaction.store, transaction), request)


def _response_entry(outer: FhirRequest, answer: FhirResponse) -> dict[str, Any]:
    response: dict[str, Any] = {"status": f"{answer.status} {HTTPStatus(answer.status).phrase}"}
    for header, field in (("Location", "location"), ("ETag", "etag")):
        if header in answer.headers:
            response[field] = answer.headers[header]
    entry: dict[str, Any] = {}
    if answer.stored is not None:
        entry["fullUrl"] = f"{outer.base}/{answer.stored.type}/{answer.stored.id}"
        response["lastModified"] = format_instant(answer.stored.last_updated)
    if answer.stored_json is not None:
        entry["resource"] = orjson.loads(answer.stored_json)
    elif answer.body is not None and answer.status < 400:
        entry["resource"] = answer.body
    elif answer.body is not None:
        response["outcome"] = answer.body
    entry["response"] = response
    return entry
