"""The HTTP side of the DICOMweb face: PS3.18 URLs to QIDO-RS and WADO-RS.

Routes are one explicit list, mounted at ``/dicomweb`` by ``app.py``. Database work runs
in a worker thread (the store is synchronous); files stream from a worker thread too.
Every error leaves through ``problems.problem_response``. CORS is open to any origin so
that a browser viewer (OHIF, ...) served elsewhere can read with a bearer token. STOW-RS
stores through ``store/instances.py``, as C-STORE does. Each request is authorized by
``authorization.py`` before it reads, and told to the audit trail (``audit.py``) once its
status is known, refusals included.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from pacsbridge.auth.audit import AuditTrail
from pacsbridge.auth.principal import principal_of
from pacsbridge.config import Settings
from pacsbridge.dicomweb import (
    authorization,
    bulkdata,
    frames,
    media,
    multipart,
    qido,
    rendered,
    stow,
    wado,
)
from pacsbridge.dicomweb.audit import Event, record
from pacsbridge.dicomweb.authorization import Access
from pacsbridge.dicomweb.pixels import StoredPixels
from pacsbridge.dicomweb.problems import problem_response
from pacsbridge.errors import BadValue, TooCostly, UnknownKey
from pacsbridge.formats.urls import public_base
from pacsbridge.store import Store
from pacsbridge.store.patient_studies import patients_of

DICOM_JSON = "application/dicom+json"
THUMBNAIL_VIEWPORT = (128, 128)

CORS_MIDDLEWARE = [
    Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["GET", "POST", "OPTIONS"],
               allow_headers=["*"], expose_headers=["Content-Type", "Content-Length",
                               "Content-Location", "WWW-Authenticate"]),
]  # fmt: skip
"""For the ``/dicomweb`` mount: any origin may ask (PS3.18 does not define access control);
what it gets is the token's business. ``allow_headers=["*"]`` echoes the preflight's
Access-Control-Request-Headers, ``Authorization`` included, which a literal ``*`` answer
would not cover (Fetch standard); no cookies cross origins (no allow_credentials)."""

# URL path parameters to the QIDO matching keys they fix.
_PATH_KEYS = {"study": "StudyInstanceUID", "series": "SeriesInstanceUID"}
STUDY_UID_TAG = "0020000D"


class DicomwebEndpoints:
    """The endpoints, holding the store and settings they need."""

    def __init__(self, store: Store, settings: Settings, audit: AuditTrail | None = None) -> None:
        self.store = store
        self.settings = settings
        self.audit = audit or AuditTrail(store, enabled=False)
        # Whose images a request touched is read only for a trail that records it.
        self.audited = self.audit.enabled

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
        event = Event("qido-rs", with_query=True)

        async def work() -> Response:
            access = authorization.authorize(principal_of(request.scope), "s")
            _negotiate(request, ("application/dicom+json", "application/json"))
            path = {_PATH_KEYS[k]: v for k, v in request.path_params.items()}
            query = qido.parse_query(level, list(request.query_params.multi_items()), path)
            base = self.base_url(request)
            found = await run_in_threadpool(self._run_search, query, base, access, event)
            return Response(orjson.dumps(found, option=orjson.OPT_SORT_KEYS),
                            media_type=DICOM_JSON)  # fmt: skip

        return await self._answer(request, work, event)

    def _run_search(self, query: qido.Query, base: str, access: Access,
                    event: Event) -> list[dict[str, Any]]:  # fmt: skip
        with self.store.reader() as reader:
            found = qido.search(reader.connection, query, base,
                                authorization.study_condition(access))  # fmt: skip
            event.studies += [item[STUDY_UID_TAG]["Value"][0] for item in found
                              if "Value" in item.get(STUDY_UID_TAG, {})]  # fmt: skip
            if access.patient is not None:
                event.patients.add(access.patient)
            elif self.audited and event.studies:
                event.patients.update(*patients_of(reader.connection, event.studies).values())
            return found

    # --- STOW-RS ---

    async def stow(self, request: Request) -> Response:
        """``POST /studies[/{study}]``: 200 if all were stored, 202 if some failed, 409 if
        none was (PS3.18 10.5.3)."""
        event = Event("stow-rs", "C")
        study = request.path_params.get("study")
        event.studies += [study] if study else []

        async def work() -> Response:
            authorization.authorize_store(principal_of(request.scope))
            length = int(request.headers.get("content-length") or 0)
            if length > self.settings.max_body_bytes:
                raise TooCostly(f"the body is over {self.settings.max_body_bytes} bytes")
            body = await request.body()
            parts = stow.split_multipart(body, request.headers.get("content-type", ""))
            base = self.base_url(request)
            outcome = await run_in_threadpool(self._store_parts, parts, study, base, event)
            status = 200 if not outcome.failed else (202 if outcome.stored else 409)
            answer = stow.response(outcome, study, base).to_json_dict()
            return Response(orjson.dumps(answer), status_code=status, media_type=DICOM_JSON)

        return await self._answer(request, work, event)

    def _store_parts(self, parts: list[bytes], study: str | None, base: str,
                     event: Event) -> stow.Outcome:  # fmt: skip
        outcome = stow.store_parts(self.store, self.settings.data_dir, parts, study, base)
        event.studies += sorted(outcome.studies)
        if self.audited and outcome.studies:
            with self.store.reader() as reader:
                found = patients_of(reader.connection, outcome.studies)
            event.patients.update(*found.values())
        return outcome

    # --- WADO-RS ---

    def _authorize(self, request: Request, event: Event) -> tuple[wado.Target, Access]:
        """The URL's target and what the caller may reach; 403 when it may read nothing."""
        target = _target(request)
        event.studies.append(target.study)
        return target, authorization.authorize(principal_of(request.scope), "r")

    @contextmanager
    def _reading(self, target: wado.Target, access: Access, event: Event) -> Iterator[Connection]:
        """A connection to read ``target`` with, once the caller may see its study: else
        the 404 of a study that does not exist. One snapshot for the check and the read."""
        with self.store.reader() as reader:
            patients = authorization.target_patients(reader.connection, access, target,
                                                     audited=self.audited)  # fmt: skip
            event.patients |= patients
            authorization.check_visible(access, target, patients)
            yield reader.connection

    async def retrieve(self, request: Request) -> Response:
        event = Event("wado-rs")

        async def work() -> Response:
            target, access = self._authorize(request, event)
            _negotiate(request, ("multipart/related",), part_type="application/dicom")
            files = await run_in_threadpool(self._find_files, target, access, event)
            boundary = multipart.new_boundary()
            parts = [multipart.Part(f.path, f"application/dicom; transfer-syntax="
                                            f"{f.transfer_syntax_uid}") for f in files]  # fmt: skip
            return StreamingResponse(
                multipart.write_multipart(parts, boundary),
                media_type=multipart.content_type(boundary, "application/dicom"),
            )

        return await self._answer(request, work, event)

    def _find_files(self, target: wado.Target, access: Access,
                    event: Event) -> list[wado.StoredFile]:  # fmt: skip
        with self._reading(target, access, event) as connection:
            return wado.find_files(connection, self.settings.data_dir, target)

    async def metadata(self, request: Request) -> Response:
        event = Event("metadata")

        async def work() -> Response:
            target, access = self._authorize(request, event)
            _negotiate(request, ("application/dicom+json", "application/json"))
            body = await run_in_threadpool(self._metadata, target, access, event,
                                           self.base_url(request))  # fmt: skip
            return Response(body, media_type=DICOM_JSON)

        return await self._answer(request, work, event)

    def _metadata(self, target: wado.Target, access: Access, event: Event, base: str) -> bytes:
        with self._reading(target, access, event) as connection:
            return wado.metadata(connection, target, base)

    async def bulkdata(self, request: Request) -> Response:
        """``.../instances/{i}/bulkdata/{path}``: one value of the stored file."""
        event = Event("bulkdata")

        async def work() -> Response:
            target, access = self._authorize(request, event)
            steps = bulkdata.parse_path(request.path_params["path"])
            multi = bulkdata.is_multipart(_acceptable(request))
            value = await run_in_threadpool(self._bulk_value, target, access, event, steps)
            location = f"{self._instance_url(request)}/bulkdata/{request.path_params['path']}"
            if not multi:
                return Response(value, media_type=media.OCTET_STREAM,
                                headers={"Content-Location": location})  # fmt: skip
            boundary = multipart.new_boundary()
            body = b"".join(multipart.write_multipart(
                [multipart.Part(value, media.OCTET_STREAM, location)], boundary))  # fmt: skip
            return Response(body, media_type=multipart.content_type(boundary, media.OCTET_STREAM))

        return await self._answer(request, work, event)

    def _bulk_value(self, target: wado.Target, access: Access, event: Event,
                    steps: list[int | str]) -> bytes:  # fmt: skip
        with self._reading(target, access, event) as connection:
            found = wado.one_file(connection, self.settings.data_dir, target)
        big_endian = found.transfer_syntax_uid == media.BIG_ENDIAN
        return bulkdata.read_value(found.path, steps, str(target.instance), big_endian=big_endian)

    # --- frames, rendered, thumbnails (pixel data, read from the stored file) ---

    async def frames(self, request: Request) -> Response:
        """``.../frames/{list}``: one part per frame (``frames.py`` says which form)."""
        event = Event("frames")

        async def work() -> Response:
            target, access = self._authorize(request, event)
            numbers = frames.parse_frame_list(request.path_params["frames"])
            accept = _acceptable(request)
            location = self._instance_url(request)
            choice, parts = await run_in_threadpool(
                self._frame_parts, target, access, event, numbers, accept, location
            )
            if not choice.multipart:
                return Response(parts[0].body, media_type=choice.content_type,
                                headers={"Content-Location": parts[0].location or ""})  # fmt: skip
            boundary = multipart.new_boundary()
            kind = multipart.content_type(boundary, choice.media_type)
            return StreamingResponse(multipart.write_multipart(parts, boundary), media_type=kind)

        return await self._answer(request, work, event)

    def _frame_parts(self, target: wado.Target, access: Access, event: Event,
                     numbers: list[int], accept: list[media.MediaRange], location: str,
                     ) -> tuple[frames.Choice, list[multipart.Part]]:  # fmt: skip
        pixels = self._pixels(target, access, event)
        frames.check_range(numbers, pixels, str(target.instance))
        choice = frames.choose(accept, pixels, len(numbers))
        return choice, frames.with_first_read(frames.parts(pixels, numbers, choice, location))

    async def rendered(self, request: Request) -> Response:
        """``.../instances/{i}/rendered`` (first frame) and ``.../frames/{n}/rendered``."""
        return await self._image(request, thumbnail=False)

    async def thumbnail(self, request: Request) -> Response:
        """``.../thumbnail`` at every level; a study or series shows a representative."""
        return await self._image(request, thumbnail=True)

    async def _image(self, request: Request, *, thumbnail: bool) -> Response:
        event = Event("thumbnail" if thumbnail else "rendered")

        async def work() -> Response:
            target, access = self._authorize(request, event)
            kind = rendered.choose_media_type(_acceptable(request))
            params = rendered.parse_params(list(request.query_params.multi_items()), kind,
                                           THUMBNAIL_VIEWPORT if thumbnail else None)  # fmt: skip
            index = 0
            if "frames" in request.path_params:
                numbers = frames.parse_frame_list(request.path_params["frames"])
                if len(numbers) != 1:
                    raise BadValue("a rendered frame is one frame number, not a list", "frames")
                index = numbers[0] - 1
            body = await run_in_threadpool(self._render, target, access, event, index, params)
            return Response(body, media_type=kind)

        return await self._answer(request, work, event)

    def _render(self, target: wado.Target, access: Access, event: Event, index: int,
                params: rendered.RenderParams) -> bytes:  # fmt: skip
        if target.instance is None:
            with self._reading(target, access, event) as connection:
                found = wado.representative(connection, self.settings.data_dir, target)
            pixels = StoredPixels(found.path, found.transfer_syntax_uid)
        else:
            pixels = self._pixels(target, access, event)
        frames.check_range([index + 1], pixels, str(target.instance or target.describe()))
        return rendered.render(pixels, index, params)

    def _pixels(self, target: wado.Target, access: Access, event: Event) -> StoredPixels:
        with self._reading(target, access, event) as connection:
            found = wado.one_file(connection, self.settings.data_dir, target)
        return StoredPixels(found.path, found.transfer_syntax_uid)

    def _instance_url(self, request: Request) -> str:
        p = request.path_params
        return (f"{self.base_url(request)}/studies/{p['study']}/series/{p['series']}"
                f"/instances/{p['instance']}")  # fmt: skip

    async def unknown(self, request: Request) -> Response:
        async def work() -> Response:
            raise UnknownKey(f"{request.url.path} is not a DICOMweb resource here")

        return await self._answer(request, work)

    async def _answer(self, request: Request, work: Callable[[], Awaitable[Response]],
                      event: Event | None = None) -> Response:  # fmt: skip
        """The face's one error boundary; the audit trail hears of ``event`` with the status."""
        try:
            response = await work()
        except Exception as exc:
            response = problem_response(exc)
        if event is not None:
            record(self.audit, request, event, response.status_code)
        return response


def _acceptable(request: Request) -> list[media.MediaRange]:
    return media.acceptable(request.headers.get("accept"), request.query_params.getlist("accept"))


def _target(request: Request) -> wado.Target:
    path = request.path_params
    return wado.Target(path["study"], path.get("series"), path.get("instance"))


def _negotiate(request: Request, media_types: tuple[str, ...], part_type: str = "") -> None:
    media.negotiate(request.headers.get("accept"), media_types, request.url.path, part_type)


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
        Route(instance + "/bulkdata/{path:path}", e.bulkdata, methods=["GET"]),
        Route(instance + "/frames/{frames}", e.frames, methods=["GET"]),
        Route(instance + "/frames/{frames}/rendered", e.rendered, methods=["GET"]),
        Route(instance + "/frames/{frames}/thumbnail", e.thumbnail, methods=["GET"]),
        Route(instance + "/rendered", e.rendered, methods=["GET"]),
        Route(instance + "/thumbnail", e.thumbnail, methods=["GET"]),
        Route(series + "/thumbnail", e.thumbnail, methods=["GET"]),
        Route(study + "/thumbnail", e.thumbnail, methods=["GET"]),
        Route("/{rest:path}", e.unknown, methods=["GET", "POST", "PUT", "DELETE"]),
    ]
