"""The HTTP side of the DICOMweb face: PS3.18 URLs to QIDO-RS and WADO-RS.

Routes are one explicit list, mounted at ``/dicomweb`` by ``app.py``. Database work runs
in a worker thread (the store is synchronous); files stream from a worker thread too.
Every error leaves through ``problems.problem_response``. CORS is open to any origin so
that a browser viewer (OHIF, ...) served elsewhere can read. STOW-RS stores through
``store/instances.py``, as C-STORE does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from pacsbridge.config import Settings
from pacsbridge.dicomweb import multipart, qido, stow, wado
from pacsbridge.dicomweb.problems import NotAcceptable, problem_response
from pacsbridge.errors import TooCostly, UnknownKey
from pacsbridge.formats.urls import public_base
from pacsbridge.store import Store

DICOM_JSON = "application/dicom+json"

CORS_MIDDLEWARE = [
    Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
               allow_headers=["*"], expose_headers=["Content-Type", "Content-Length"]),
]  # fmt: skip
"""For the ``/dicomweb`` mount: any origin may read (PS3.18 does not define access control)."""

# URL path parameters to the QIDO matching keys they fix.
_PATH_KEYS = {"study": "StudyInstanceUID", "series": "SeriesInstanceUID"}


class DicomwebEndpoints:
    """The endpoints, holding the store and settings they need."""

    def __init__(self, store: Store, settings: Settings) -> None:
        self.store = store
        self.settings = settings

    def base_url(self, request: Request) -> str:
        """The service's base URL, for RetrieveURL: configured, or as the client called us."""
        return public_base(request.scope, request.headers.get("host"), self.settings.base_url,
                           "/dicomweb")  # fmt: skip

    # --- QIDO-RS ---

    async def search_studies(self, request: Request) -> Response:
        return await self._search(request, "study")

    async def search_series(self, request: Request) -> Response:
        return await self._search(request, "series")

    async def search_instances(self, request: Request) -> Response:
        return await self._search(request, "instance")

    async def _search(self, request: Request, level: qido.Level) -> Response:
        """An empty result is ``200 []``, not 204: PS3.18 10.6.3.2 allows both, and one
        shape is simpler for clients."""

        async def work() -> Response:
            _negotiate(request, ("application/dicom+json", "application/json"))
            path = {_PATH_KEYS[k]: v for k, v in request.path_params.items()}
            query = qido.parse_query(level, list(request.query_params.multi_items()), path)
            base = self.base_url(request)
            found = await run_in_threadpool(self._run_search, query, base)
            return Response(orjson.dumps(found, option=orjson.OPT_SORT_KEYS),
                            media_type=DICOM_JSON)  # fmt: skip

        return await _answer(work)

    def _run_search(self, query: qido.Query, base: str) -> list[dict[str, Any]]:
        with self.store.reader() as reader:
            return qido.search(reader.connection, query, base)

    # --- STOW-RS ---

    async def stow(self, request: Request) -> Response:
        """``POST /studies[/{study}]``: 200 if all were stored, 202 if some failed, 409 if
        none was (PS3.18 10.5.3)."""

        async def work() -> Response:
            length = int(request.headers.get("content-length") or 0)
            if length > self.settings.max_body_bytes:
                raise TooCostly(f"the body is over {self.settings.max_body_bytes} bytes")
            body = await request.body()
            parts = stow.split_multipart(body, request.headers.get("content-type", ""))
            study = request.path_params.get("study")
            base = self.base_url(request)
            outcome = await run_in_threadpool(
                stow.store_parts, self.store, self.settings.data_dir, parts, study, base
            )
            status = 200 if not outcome.failed else (202 if outcome.stored else 409)
            answer = stow.response(outcome, study, base).to_json_dict()
            return Response(orjson.dumps(answer), status_code=status, media_type=DICOM_JSON)

        return await _answer(work)

    # --- WADO-RS ---

    async def retrieve(self, request: Request) -> Response:
        async def work() -> Response:
            _negotiate(request, ("multipart/related",), part_type="application/dicom")
            target = _target(request)
            files = await run_in_threadpool(self._find_files, target)
            boundary = multipart.new_boundary()
            parts = [multipart.Part(f.path, f"application/dicom; transfer-syntax="
                                            f"{f.transfer_syntax_uid}") for f in files]  # fmt: skip
            return StreamingResponse(
                multipart.write_multipart(parts, boundary),
                media_type=multipart.content_type(boundary, "application/dicom"),
            )

        return await _answer(work)

    def _find_files(self, target: wado.Target) -> list[wado.StoredFile]:
        with self.store.reader() as reader:
            return wado.find_files(reader.connection, self.settings.data_dir, target)

    async def metadata(self, request: Request) -> Response:
        async def work() -> Response:
            _negotiate(request, ("application/dicom+json", "application/json"))
            body = await run_in_threadpool(self._metadata, _target(request))
            return Response(body, media_type=DICOM_JSON)

        return await _answer(work)

    def _metadata(self, target: wado.Target) -> bytes:
        with self.store.reader() as reader:
            return wado.metadata(reader.connection, target)

    async def unknown(self, request: Request) -> Response:
        async def work() -> Response:
            raise UnknownKey(f"{request.url.path} is not a DICOMweb resource here")

        return await _answer(work)


async def _answer(work: Callable[[], Awaitable[Response]]) -> Response:
    try:
        return await work()
    except Exception as exc:  # the face's one error boundary
        return problem_response(exc)


def _target(request: Request) -> wado.Target:
    path = request.path_params
    return wado.Target(path["study"], path.get("series"), path.get("instance"))


def _negotiate(request: Request, media_types: tuple[str, ...], part_type: str = "") -> None:
    """Refuse (406) an Accept header that allows none of ``media_types`` (PS3.18 8.7.4).

    For multipart, a ``type`` parameter other than ``part_type`` is refused too: we do not
    serve frames or rendered images.
    """
    accept = request.headers.get("accept")
    if not accept:
        return
    wildcards = {"*/*", f"{media_types[0].split('/')[0]}/*"}
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        media = media.lower()
        if media in wildcards:
            return
        if media in media_types:
            types = [p.split("=", 1)[1].strip('"').lower() for p in params
                     if p.lower().startswith("type=")]  # fmt: skip
            if not part_type or not types or types[0] == part_type:
                return
    raise NotAcceptable(f"cannot answer {request.url.path} as {accept}")


def dicomweb_routes(endpoints: DicomwebEndpoints) -> list[BaseRoute]:
    """The PS3.18 URL space under the mount point (10.4 WADO-RS, 10.6 QIDO-RS)."""
    e = endpoints
    study, series = "/studies/{study}", "/studies/{study}/series/{series}"
    instance = series + "/instances/{instance}"
    return [
        Route("/studies", e.search_studies, methods=["GET"]),
        Route("/studies", e.stow, methods=["POST"]),
        Route("/series", e.search_series, methods=["GET"]),
        Route("/instances", e.search_instances, methods=["GET"]),
        Route(study, e.retrieve, methods=["GET"]),
        Route(study, e.stow, methods=["POST"]),
        Route(study + "/metadata", e.metadata, methods=["GET"]),
        Route(study + "/series", e.search_series, methods=["GET"]),
        Route(study + "/instances", e.search_instances, methods=["GET"]),
        Route(series, e.retrieve, methods=["GET"]),
        Route(series + "/metadata", e.metadata, methods=["GET"]),
        Route(series + "/instances", e.search_instances, methods=["GET"]),
        Route(instance, e.retrieve, methods=["GET"]),
        Route(instance + "/metadata", e.metadata, methods=["GET"]),
        Route("/{rest:path}", e.unknown, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
