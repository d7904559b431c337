"""The HTTP side of the FHIR face: URLs to interactions, bytes to resources and back.

Routes are one explicit list (Starlette style). Every endpoint reads the request, hands a
:class:`FhirRequest` to ``interactions.dispatch`` in a worker thread (the store is
synchronous), and renders the answer in the negotiated format. Errors of any kind leave as
an OperationOutcome; nothing escapes as a bare 500 page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pacsbridge.auth.audit import AuditTrail
from pacsbridge.auth.principal import principal_of
from pacsbridge.config import Settings
from pacsbridge.errors import BadValue, TooCostly, UnknownKey
from pacsbridge.fhir.audit import audit_request
from pacsbridge.fhir.bundles import process_bundle
from pacsbridge.fhir.capability import capability_statement
from pacsbridge.fhir.interactions import FhirRequest, FhirResponse, StoreAccess, dispatch
from pacsbridge.fhir.negotiation import (
    MEDIA_TYPES,
    Format,
    UnsupportedMediaType,
    parse_body,
    render,
    response_format,
)
from pacsbridge.fhir.openapi import openapi_document
from pacsbridge.fhir.outcome import outcome_for
from pacsbridge.formats.urls import public_base
from pacsbridge.store import Store
from pacsbridge.store.resources import format_instant, utc_now

ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]


class FhirEndpoints:
    """The endpoints, holding the store and settings they need."""

    def __init__(self, store: Store, settings: Settings, audit: AuditTrail | None = None) -> None:
        self.store = store
        self.settings = settings
        self.audit = audit or AuditTrail(store, enabled=False)
        self.started = format_instant(utc_now())

    def base_url(self, request: Request) -> str:
        return public_base(request.scope, request.headers.get("host"), self.settings.base_url,
                           "/fhir/R4")  # fmt: skip

    async def metadata(self, request: Request) -> Response:
        async def work(fhir_request: FhirRequest) -> FhirResponse:
            body = capability_statement(fhir_request.base, self.store.registry, self.started)
            return FhirResponse(200, body=body)

        return await self._answer(request, work, read_body=False)

    async def openapi(self, request: Request) -> Response:
        """The OpenAPI description, for API tools; plain JSON, as they expect."""
        document = openapi_document(self.base_url(request), self.store.registry)
        return Response(orjson.dumps(document), media_type="application/json")

    async def system(self, request: Request) -> Response:
        async def work(fhir_request: FhirRequest) -> FhirResponse:
            if request.method != "POST" or fhir_request.body is None:
                raise BadValue("the base URL takes POST of a batch or transaction Bundle")
            # a transaction runs again whole; a batch's entries do so one by one, within
            return await run_in_threadpool(
                self.store.database.retrying, process_bundle, self.store, fhir_request.body,
                fhir_request, self.settings.max_bundle_entries,
            )  # fmt: skip

        return await self._answer(request, work)

    async def interaction(self, request: Request) -> Response:
        async def work(fhir_request: FhirRequest) -> FhirResponse:
            return await run_in_threadpool(self._dispatch, fhir_request)

        return await self._answer(request, work)

    def _dispatch(self, fhir_request: FhirRequest) -> FhirResponse:
        """A deadlock with another writer undoes the whole interaction: run it again."""
        return self.store.database.retrying(dispatch, StoreAccess(self.store), fhir_request)

    async def unknown(self, request: Request) -> Response:
        """Any other path: a FHIR answer (404 OperationOutcome), not a bare page."""

        async def work(fhir_request: FhirRequest) -> FhirResponse:
            raise UnknownKey(f"{request.url.path} is not a FHIR endpoint here")

        return await self._answer(request, work, read_body=False)

    async def search_post(self, request: Request) -> Response:
        """``POST [type]/_search``: form-encoded parameters, merged with the URL's."""

        async def work(fhir_request: FhirRequest) -> FhirResponse:
            media = request.headers.get("content-type", "").split(";")[0].strip().lower()
            body = await request.body()
            if body and media != "application/x-www-form-urlencoded":
                raise UnsupportedMediaType("_search takes application/x-www-form-urlencoded")
            fhir_request.params += parse_qsl(body.decode("utf-8", "replace"), True)
            fhir_request.method = "GET"
            return await run_in_threadpool(self._dispatch, fhir_request)

        return await self._answer(request, work, read_body=False)

    async def _answer(self, request: Request, work: Any, *, read_body: bool = True) -> Response:
        fmt: Format = "json"
        pretty = request.query_params.get("_pretty") == "true"
        fhir_request: FhirRequest | None = None
        try:
            fmt = response_format(request.query_params.get("_format"),
                                  request.headers.get("accept"))  # fmt: skip
            fhir_request = await self._fhir_request(request, read_body)
            answer = await work(fhir_request)
        except Exception as exc:  # the face's one error boundary
            status, outcome = outcome_for(exc)
            answer = FhirResponse(status, body=outcome)
        if fhir_request is not None:
            audit_request(self.audit, fhir_request.principal, fhir_request, answer.status,
                          answer, self.store.registry)  # fmt: skip
        return _response(answer, fmt, pretty, request.method)

    async def _fhir_request(self, request: Request, read_body: bool) -> FhirRequest:
        path = request.path_params
        body = None
        if read_body and request.method in ("POST", "PUT"):
            length = int(request.headers.get("content-length") or 0)
            if length > self.settings.max_body_bytes:
                raise TooCostly(f"the body is over {self.settings.max_body_bytes} bytes")
            raw = await request.body()
            if len(raw) > self.settings.max_body_bytes:
                raise TooCostly(f"the body is over {self.settings.max_body_bytes} bytes")
            body = parse_body(raw, request.headers.get("content-type"))
        return FhirRequest(
            method=request.method,
            base=self.base_url(request),
            resource_type=path.get("type"),
            id=path.get("id"),
            version=path.get("vid"),
            history=request.url.path.rstrip("/").split("/")[-1] == "_history" or "vid" in path,
            params=list(request.query_params.multi_items()),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
            principal=principal_of(request.scope),
        )


def _response(answer: FhirResponse, fmt: Format, pretty: bool, method: str) -> Response:
    headers = dict(answer.headers)
    if answer.status == 304 or (answer.body is None and answer.stored_json is None):
        content: bytes | str = b""
    elif answer.stored_json is not None and fmt == "json" and not pretty:
        content = answer.stored_json  # served exactly as stored
    else:
        body: dict[str, Any] = answer.body if answer.body is not None else orjson.loads(
            answer.stored_json or "{}")  # fmt: skip
        content = render(body, fmt, pretty=pretty)
    if method == "HEAD":
        content = b""
    media_type = MEDIA_TYPES[fmt] if content or method == "HEAD" else None
    return Response(content, status_code=answer.status, headers=headers, media_type=media_type)


def fhir_routes(endpoints: FhirEndpoints) -> list[BaseRoute]:
    """The FHIR REST URL space under the mount point (R4 http.html, 3.1.0.1.1)."""
    e = endpoints
    # The hottest route first; FHIR ids never hold "_", so "/Patient/_history" is not an id.
    return [
        Route("/{type:fhirtype}/{id:fhirid}", e.interaction, methods=ALL_METHODS),
        Route("/{type:fhirtype}", e.interaction, methods=ALL_METHODS),
        Route("/metadata", e.metadata, methods=["GET", "HEAD"]),
        Route("/openapi.json", e.openapi, methods=["GET", "HEAD"]),
        Route("/", e.system, methods=ALL_METHODS),
        Route("/_history", e.interaction, methods=["GET", "HEAD"]),
        Route("/{type:fhirtype}/_search", e.search_post, methods=["POST"]),
        Route("/{type:fhirtype}/_history", e.interaction, methods=["GET", "HEAD"]),
        Route(
            "/{type:fhirtype}/{id:fhirid}/_history/{vid}", e.interaction, methods=["GET", "HEAD"]
        ),  # fmt: skip
        Route("/{type:fhirtype}/{id:fhirid}/_history", e.interaction, methods=["GET", "HEAD"]),
        Route("/{rest:path}", e.unknown, methods=ALL_METHODS),
    ]


class _Matching(Convertor[str]):
    """A path segment matching ``regex``, passed on unchanged."""

    def __init__(self, regex: str) -> None:
        self.regex = regex

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("fhirtype", _Matching("[A-Z][A-Za-z]{1,63}"))
register_url_convertor("fhirid", _Matching("[A-Za-z0-9\\-.]{1,64}"))
