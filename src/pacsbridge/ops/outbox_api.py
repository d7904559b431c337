"""The operations API of the outbox at ``/api``: what the console and scripts act on.

``GET /api/outbox`` lists messages (newest first, ``?destination= &status= &patient=
&before= &limit=``); ``GET /api/outbox/{id}`` shows one with its attempts and ACK;
``POST /api/outbox/{id}/retry|cancel`` move a dead or waiting one. ``GET
/api/destinations`` gives each destination's state and queue; ``POST
/api/destinations/{name}/pause|resume`` stop and restart sending. Refusals are
``application/problem+json`` (RFC 9457) saying why.

Messages carry patient data and the verbs move them, so every route is for administrators
only (``Principal.is_admin``: the open network in the ``open`` mode, an admin user, or a
``system/*.cruds`` client); the auth middleware has already refused callers without
credentials (401), anyone else gets 403.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from pacsbridge.auth.principal import principal_of
from pacsbridge.config import Settings
from pacsbridge.formats.hl7v2.charsets import codec_for
from pacsbridge.store import Store, outbox
from pacsbridge.store.resources import utc_now

STATUSES = {outbox.PENDING, outbox.SENDING, outbox.SENT, outbox.DEAD, outbox.CANCELLED}


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _problem(status: int, detail: str) -> Response:
    body = {"type": "about:blank", "title": "refused", "status": status, "detail": detail}
    return Response(orjson.dumps(body), status_code=status,
                    media_type="application/problem+json")  # fmt: skip


def _admin_only(endpoint: Callable[[Request], Awaitable[Response]],
                ) -> Callable[[Request], Awaitable[Response]]:  # fmt: skip
    """``endpoint``, answering 403 to anyone but an administrator."""

    async def guarded(request: Request) -> Response:
        principal = principal_of(request.scope)
        if not principal.is_admin:
            answer = _problem(403, f"the operations API is for administrators;"
                                   f" {principal.subject} is not one")  # fmt: skip
        else:
            answer = await endpoint(request)
        if request.url.path.startswith("/api/outbox"):  # outbound messages hold patient data
            pk = request.path_params.get("pk")
            interaction = "outbox-" + endpoint.__name__.replace("_", "-")
            request.app.state.audit.record(
                principal, source="api", interaction=interaction,
                action="R" if request.method == "GET" else "U",
                entities=[f"urn:pacsbridge:outbox:{pk}"] if pk is not None else [],
                patients=[], outcome=answer.status_code,
                query=request.url.query or None,
            )  # fmt: skip
        return answer

    return guarded


def _summary(entry: outbox.OutboxEntry) -> dict[str, Any]:
    return {"id": entry.pk, "destination": entry.destination, "patient": entry.partition_key,
            "event": entry.event, "type": entry.message_type, "controlId": entry.control_id,
            "source": entry.source, "status": entry.status, "attempts": entry.attempts,
            "created": entry.created_at.isoformat() + "Z",
            "nextAttempt": entry.next_attempt_at.isoformat() + "Z",
            "finished": entry.finished_at.isoformat() + "Z" if entry.finished_at else None,
            "ackCode": entry.ack_code, "lastError": entry.last_error}  # fmt: skip


def outbox_routes(store: Store, settings: Settings, sender_state: Callable[[], dict[str, str]]
                  ) -> list[BaseRoute]:  # fmt: skip
    """Routes to mount at ``/api``; ``sender_state`` names each destination's link state."""
    charsets = {d.name: d.charset for d in settings.destinations}

    def _list(params: dict[str, str]) -> Response:
        status = params.get("status")
        if status is not None and status not in STATUSES:
            return _problem(400, f"status must be one of {', '.join(sorted(STATUSES))}")
        try:
            limit = min(int(params.get("limit", "100")), 1000)
            before = int(params["before"]) if "before" in params else None
        except ValueError:
            return _problem(400, "limit and before are whole numbers")
        with store.database.reader.connect() as connection:
            found = outbox.list_entries(connection, destination=params.get("destination"),
                                        status=status, partition_key=params.get("patient"),
                                        limit=limit, before_pk=before)  # fmt: skip
        return _json([_summary(e) for e in found])

    def _show(pk: int) -> Response:
        with store.database.reader.connect() as connection:
            found = outbox.get_entry(connection, pk)
        if found is None:
            return _problem(404, f"no outbound message {pk}")
        entry, attempts = found
        codec = codec_for(charsets.get(entry.destination, "8859/1"))
        body = _summary(entry) | {
            "message": entry.payload.decode(codec, "replace"),
            "ack": entry.ack.decode(codec, "replace") if entry.ack else None,
            "attemptLog": [{"attempt": a.attempt, "started": a.started_at.isoformat() + "Z",
                            "seconds": a.seconds, "outcome": a.outcome, "error": a.error}
                           for a in attempts],
        }  # fmt: skip
        return _json(body)

    def _move(pk: int, verb: str) -> Response:
        action, allowed = outbox.OPERATIONS[verb]
        with store.database.writer.begin() as connection:
            done = action(connection, pk, utc_now())
        if not done:
            return _problem(409, f"message {pk} is not {' or '.join(allowed)}, or does not exist")
        return _show(pk)

    def _destinations() -> Response:
        with store.database.reader.connect() as connection:
            states = {s.destination: s for s in outbox.queue_states(connection)}
            paused = outbox.paused_destinations(connection)
        now, links = utc_now(), sender_state()
        body = []
        for d in settings.destinations:
            state = states.get(d.name)
            body.append({"name": d.name, "address": f"{d.host}:{d.port}", "events": d.events,
                         "paused": d.name in paused, "link": links.get(d.name, "not sending"),
                         "waiting": state.depth if state else 0,
                         "dead": state.dead if state else 0,
                         "oldestWaitingSeconds": state.waiting_seconds(now) if state
                         else None})  # fmt: skip
        return _json(body)

    def _pause(name: str, paused: bool) -> Response:
        if name not in charsets:
            return _problem(404, f"no destination {name!r} is configured")
        with store.database.writer.begin() as connection:
            outbox.set_paused(connection, name, paused, utc_now())
        return _destinations()

    async def list_messages(request: Request) -> Response:
        return await run_in_threadpool(_list, dict(request.query_params))

    async def show(request: Request) -> Response:
        return await run_in_threadpool(_show, request.path_params["pk"])

    async def retry(request: Request) -> Response:
        return await run_in_threadpool(_move, request.path_params["pk"], "retry")

    async def cancel(request: Request) -> Response:
        return await run_in_threadpool(_move, request.path_params["pk"], "cancel")

    async def destinations(request: Request) -> Response:
        return await run_in_threadpool(_destinations)

    async def pause(request: Request) -> Response:
        return await run_in_threadpool(_pause, request.path_params["name"], True)

    async def resume(request: Request) -> Response:
        return await run_in_threadpool(_pause, request.path_params["name"], False)

    return [
        Route(path, _admin_only(endpoint), methods=[method])
        for path, endpoint, method in (
            ("/outbox", list_messages, "GET"),
            ("/outbox/{pk:int}", show, "GET"),
            ("/outbox/{pk:int}/retry", retry, "POST"),
            ("/outbox/{pk:int}/cancel", cancel, "POST"),
            ("/destinations", destinations, "GET"),
            ("/destinations/{name}/pause", pause, "POST"),
            ("/destinations/{name}/resume", resume, "POST"),
        )
    ]
