"""The RESTful interactions of FHIR R4 (http.html), independent of HTTP plumbing.

Each function takes a :class:`FhirRequest` and answers a :class:`FhirResponse`. The HTTP
router and the batch/transaction processor both call :func:`dispatch`, so an entry of a
transaction Bundle behaves exactly like the same request sent alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from pacsbridge.auth.principal import OPEN, Principal
from pacsbridge.errors import BadValue, Gone, NotAuthorized, UnknownKey, Unsupported
from pacsbridge.fhir.authorization import (
    Limit,
    as_unknown,
    check_readable,
    check_writable,
    hidden_when_gone,
    limit_for,
    visible,
)
from pacsbridge.fhir.outcome import information
from pacsbridge.fhir.providers import BY_TYPE
from pacsbridge.fhir.searchset import history_bundle, searchset_bundle
from pacsbridge.fhir.summary import shape
from pacsbridge.store import Store, Transaction
from pacsbridge.store.reader import Reader
from pacsbridge.store.resources import StoredResource
from pacsbridge.store.search.values import date_range


@dataclass
class FhirRequest:
    method: str
    base: str
    resource_type: str | None = None
    id: str | None = None
    version: str | None = None
    history: bool = False
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: dict[str, Any] | None = None
    principal: Principal = OPEN  # the HTTP router sets the caller's; internal callers are open

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None

    @property
    def criteria(self) -> str:
        """The query as conditional criteria, re-encoded so values keep their ``&`` and ``+``."""
        return urlencode([(k, v) for k, v in self.params if k not in ("_format", "_pretty")])


@dataclass
class FhirResponse:
    status: int
    body: dict[str, Any] | None = None
    stored_json: str | None = None  # the stored text, served unchanged as JSON
    headers: dict[str, str] = field(default_factory=dict)
    stored: StoredResource | None = None


class StoreAccess:
    """How interactions reach the store: their own transactions, or a Bundle's one."""

    def __init__(self, store: Store, transaction: Transaction | None = None) -> None:
        self.store = store
        self.transaction = transaction

    @contextmanager
    def reading(self, *, single_statement: bool = False) -> Iterator[Reader]:
        if self.transaction is not None:
            yield self.transaction
        else:
            with self.store.reader(single_statement=single_statement) as reader:
                yield reader

    @contextmanager
    def writing(self) -> Iterator[Transaction]:
        if self.transaction is not None:
            yield self.transaction
        else:
            with self.store.transaction("fhir") as transaction:
                yield transaction


def dispatch(access: StoreAccess, request: FhirRequest) -> FhirResponse:
    """Route one request to its interaction (R4 http.html, 3.1.0.1.1)."""
    method = request.method
    if request.resource_type is None:
        if request.history and method == "GET":
            return history(access, request, None)
        raise Unsupported(f"{method} on the base URL is not an interaction")
    provider = BY_TYPE.get(request.resource_type)
    if provider is None:
        raise UnknownType(f"resource type {request.resource_type} is not served here")
    interaction = _interaction(request)
    if not provider.supports(interaction):
        raise Unsupported(f"{interaction} is not supported for {request.resource_type}")
    limit = limit_for(request.principal, request.resource_type, interaction)
    if request.resource_type == "AuditEvent":  # kept in the audit log, not as resources
        from pacsbridge.fhir import audit_events

        if interaction == "search-type":
            return audit_events.search_events(access, request)
        return audit_events.read(access, request)
    return _HANDLERS[interaction](access, request, limit)


def _interaction(request: FhirRequest) -> str:
    method, has_id = request.method, request.id is not None
    if request.history:
        if request.version is not None:
            return "vread"
        return "history-instance" if has_id else "history-type"
    if (method, has_id) not in _BY_METHOD:
        raise Unsupported(f"{method} is not an interaction on this URL")
    return _BY_METHOD[(method, has_id)]


# (HTTP method, URL names an id) -> interaction (R4 http.html)
_BY_METHOD = {
    ("GET", True): "read", ("HEAD", True): "read", ("PUT", True): "update",
    ("DELETE", True): "delete", ("GET", False): "search-type", ("HEAD", False): "search-type",
    ("POST", False): "create", ("PUT", False): "update", ("DELETE", False): "delete",
}  # fmt: skip


class UnknownType(UnknownKey):
    issue_code = "not-supported"


# --- read ---


def read(access: StoreAccess, request: FhirRequest, limit: Limit) -> FhirResponse:
    assert request.resource_type and request.id
    hidden = hidden_when_gone(limit, request.resource_type, request.id)
    with access.reading(single_statement=True) as reader, hidden:
        stored = reader.read(request.resource_type, request.id)
    check_readable(limit, stored, access.store.registry)
    return _answer_read(request, stored)


def vread(access: StoreAccess, request: FhirRequest, limit: Limit) -> FhirResponse:
    assert request.resource_type and request.id and request.version
    if not request.version.isdigit():
        raise UnknownKey(f"version {request.version!r} does not exist", "_history")
    hidden = hidden_when_gone(limit, request.resource_type, request.id, request.version)
    with access.reading(single_statement=True) as reader, hidden:
        stored = reader.vread(request.resource_type, request.id, int(request.version))
    check_readable(limit, stored, access.store.registry, version=True)
    return _answer_read(request, stored)


def _answer_read(request: FhirRequest, stored: StoredResource) -> FhirResponse:
    headers = version_headers(stored)
    if request.headers.get("if-none-match", "").replace("W/", "") == f'"{stored.version_id}"':
        return FhirResponse(304, headers=headers)
    since = request.headers.get("if-modified-since")
    if since and _not_modified_since(stored.last_updated, since):
        return FhirResponse(304, headers=headers)
    summary, elements = request.param("_summary"), request.param("_elements")
    if summary or elements:
        body = shape(stored.resource, summary, elements.split(",") if elements else None)
        return FhirResponse(200, body=body, headers=headers, stored=stored)
    return FhirResponse(200, stored_json=stored.content, headers=headers, stored=stored)


def _not_modified_since(last_updated: datetime, header: str) -> bool:
    try:
        moment = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return last_updated.replace(microsecond=0) <= moment


def version_headers(stored: StoredResource) -> dict[str, str]:
    return {
        "ETag": f'W/"{stored.version_id}"',
        "Last-Modified": format_datetime(stored.last_updated.replace(tzinfo=UTC), usegmt=True),
    }


# --- writes ---


def create(access: StoreAccess, request: FhirRequest, limit: Limit) -> FhirResponse:
    body = _body_of_type(request)
    body = {k: v for k, v in body.items() if k != "id"}  # R4 3.1.0.8: the server assigns ids
    criteria = request.headers.get("if-none-exist")
    check_writable(limit, body, access.store.registry)
    if criteria and not limit.unlimited:
        raise NotAuthorized("conditional create needs a token without patient or scope limits")
    with access.writing() as transaction:
        if criteria:
            stored, created = transaction.conditional_create(body, criteria)
        else:
            stored, created = transaction.create(body), True
    return answer_write(request, stored, 201 if created else 200, location=True)


def update(access: StoreAccess, request: FhirRequest, limit: Limit) -> FhirResponse:
    body = _body_of_type(request)
    if_match = _if_match(request)
    check_writable(limit, body, access.store.registry)
    with access.writing() as transaction:
        if request.id is None:
            if not request.params:
                raise BadValue("an update needs an id in the URL or search criteria")
            if not limit.unlimited:
                raise NotAuthorized("conditional update needs a token without patient limits")
            stored, created = transaction.conditional_update(
                body, request.criteria, if_match=if_match
            )
        else:
            if body.get("id") != request.id:
                raise BadValue(
                    f"the body's id {body.get('id')!r} must equal the URL's id {request.id!r}",
                    f"{request.resource_type}.id",
                )
            _check_replaced(transaction, limit, request.resource_type, request.id)
            stored, created = transaction.update(body, if_match=if_match)
    return answer_write(request, stored, 201 if created else 200, location=created)


def delete(access: StoreAccess, request: FhirRequest, limit: Limit) -> FhirResponse:
    assert request.resource_type
    with access.writing() as transaction:
        if request.id is None:
            if not request.params:
                raise BadValue("a conditional delete needs search criteria")
            if not limit.unlimited:
                raise NotAuthorized("conditional delete needs a token without patient limits")
            deleted = transaction.conditional_delete(request.resource_type, request.criteria)
            text = f"deleted {len(deleted)} {request.resource_type} resource(s)"
            return FhirResponse(200, body=information(text))
        _check_replaced(transaction, limit, request.resource_type, request.id)
        stored = transaction.delete(request.resource_type, request.id, if_match=_if_match(request))
    if stored is None:
        return FhirResponse(200, body=information("nothing to delete: no such resource"))
    headers = {"ETag": f'W/"{stored.version_id}"'}
    return FhirResponse(200, body=information(f"deleted {stored.type}/{stored.id}"),
                        headers=headers)  # fmt: skip


def _check_replaced(transaction: Transaction, limit: Limit, res_type: str, res_id: str) -> None:
    """403 when the stored resource an update or delete would change is not the caller's."""
    if limit.unlimited:
        return
    try:
        stored = transaction.read(res_type, res_id)
    except UnknownKey:  # Gone too: nothing there to protect
        return
    check_writable(limit, stored.resource, transaction.store.registry)


def _body_of_type(request: FhirRequest) -> dict[str, Any]:
    if request.body is None:
        raise BadValue("a resource body is required")
    found = request.body.get("resourceType")
    if found != request.resource_type:
        raise BadValue(
            f"the body is a {found}, but the URL is for {request.resource_type}", "resourceType"
        )
    return request.body


def _if_match(request: FhirRequest) -> int | None:
    header = request.headers.get("if-match")
    if not header:
        return None
    value = header.strip().removeprefix("W/").strip('"')
    if not value.isdigit():
        raise BadValue(f'If-Match must be a version ETag such as W/"3", not {header!r}')
    return int(value)


def answer_write(
    request: FhirRequest, stored: StoredResource, status: int, *, location: bool
) -> FhirResponse:
    headers = version_headers(stored)
    if location:
        headers["Location"] = (
            f"{request.base}/{stored.type}/{stored.id}/_history/{stored.version_id}"
        )
    prefer = prefer_return(request)
    if prefer == "minimal":
        return FhirResponse(status, headers=headers, stored=stored)
    if prefer == "OperationOutcome":
        word = "created" if status == 201 else "updated"
        body = information(f"{word} {stored.type}/{stored.id} version {stored.version_id}")
        return FhirResponse(status, body=body, headers=headers, stored=stored)
    return FhirResponse(status, stored_json=stored.content, headers=headers, stored=stored)


def prefer_return(request: FhirRequest) -> str:
    for part in request.headers.get("prefer", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.strip() == "return":
            return value.strip().strip('"')
    return "representation"


def prefer_strict(request: FhirRequest) -> bool:
    return "handling=strict" in request.headers.get("prefer", "").replace(" ", "")


# --- search and history ---


def search(access: StoreAccess, request: FhirRequest, limit: Limit) -> FhirResponse:
    assert request.resource_type
    params = request.params if limit.unlimited else limit.search_params(request.params)
    with access.reading() as reader:
        query = reader.parse(request.resource_type, params)
        if query.unknown and prefer_strict(request):
            raise BadValue(f"unknown search parameter(s): {', '.join(query.unknown)}")
        result = reader.search(query)
    registry = access.store.registry
    if not limit.unlimited:  # the SQL narrowed the matches; this is a second guard
        result.matches = [m for m in result.matches if limit.allows(m.resource, registry)]
    if result.included:
        result.included = visible(request.principal, "read", result.included, registry)
    return FhirResponse(200, body=searchset_bundle(request.base, request.params, query, result))


def history(access: StoreAccess, request: FhirRequest, limit: Limit | None) -> FhirResponse:
    since = _instant_param(request, "_since")
    at = _instant_param(request, "_at")
    count_text = request.param("_count") or "20"
    if not count_text.isdigit():
        raise BadValue("_count must be a whole number", "_count")
    count = min(int(count_text), access.store.search_limits["max_count"])
    principal = request.principal
    with access.reading() as reader:
        if request.id is not None and request.resource_type:
            assert limit is not None
            try:  # 404 if it never existed; a deleted resource still has its history
                current = reader.read(request.resource_type, request.id)
            except Gone as exc:
                if not limit.unlimited:
                    raise as_unknown(request.resource_type, request.id) from exc
            else:
                check_readable(limit, current, access.store.registry)
        page, next_cursor = reader.history(
            request.resource_type, request.id, since=since, at=at, count=count,
            cursor=request.param("_cursor"),
        )  # fmt: skip
    if not principal.is_open:
        interaction = "history-instance" if request.id else "history-type"
        shown = visible(principal, interaction, page.versions, access.store.registry)
        if len(shown) != len(page.versions):
            page = replace(page, versions=shown, total=None)
    return FhirResponse(200, body=history_bundle(request, page, next_cursor))


def _instant_param(request: FhirRequest, name: str) -> datetime | None:
    value = request.param(name)
    if value is None:
        return None
    low, high = date_range(value)
    return high if name == "_at" else low


_HANDLERS: dict[str, Callable[[StoreAccess, FhirRequest, Limit], FhirResponse]] = {
    "read": read,
    "vread": vread,
    "create": create,
    "update": update,
    "delete": delete,
    "search-type": search,
    "history-type": history,
    "history-instance": history,
}
