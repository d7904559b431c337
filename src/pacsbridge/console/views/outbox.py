"""Outbound messages: the outbox by destination and status, one message with its attempts,
and the operator's two moves, retry and cancel (``store/outbox.py`` OPERATIONS, as the
CLI and ``/api`` use them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pacsbridge.console import audit
from pacsbridge.console.context import Console
from pacsbridge.console.hl7_tree import message_tree
from pacsbridge.console.pages import error_page, render
from pacsbridge.errors import UnknownKey
from pacsbridge.store import outbox
from pacsbridge.store.resources import utc_now

PAGE_SIZE = 50
STATUSES = (outbox.PENDING, outbox.SENDING, outbox.SENT, outbox.DEAD, outbox.CANCELLED)


async def listing(console: Console, request: Request) -> Response:
    params = request.query_params
    wanted = {name: params.get(name, "").strip() for name in ("destination", "status", "patient")}
    if wanted["status"] not in ("", *STATUSES):
        wanted["status"] = ""
    before = params.get("before", "")
    found = await run_in_threadpool(_list, console, wanted,
                                    int(before) if before.isdigit() else None)  # fmt: skip
    more = None
    if len(found) == PAGE_SIZE:
        more = "?" + urlencode({**{k: v for k, v in wanted.items() if v},
                                "before": found[-1].pk})  # fmt: skip
    audit.record(request, "search", patients=audit.patients_in(e.partition_key for e in found),
                 with_query=True)  # fmt: skip
    names = sorted({d.name for d in console.settings.destinations}
                   | {e.destination for e in found})  # fmt: skip
    return render(request, "outbox.html", title="Outbox", section="outbox", entries=found,
                  filters=wanted, statuses=STATUSES, destinations=names, more=more)  # fmt: skip


def _list(console: Console, wanted: dict[str, str], before: int | None) -> list[Any]:
    with console.store.reader() as reader:
        return outbox.list_entries(
            reader.connection, destination=wanted["destination"] or None,
            status=wanted["status"] or None, partition_key=wanted["patient"] or None,
            limit=PAGE_SIZE, before_pk=before,
        )  # fmt: skip


def _get(console: Console, pk: int) -> tuple[outbox.OutboxEntry, list[outbox.Attempt]]:
    with console.store.reader() as reader:
        found = outbox.get_entry(reader.connection, pk)
    if found is None:
        raise UnknownKey(f"no outbound message {pk}", f"outbox {pk}")
    return found


async def detail(console: Console, request: Request) -> Response:
    pk = request.path_params["pk"]
    entry, attempts = await run_in_threadpool(_get, console, pk)
    charsets = {d.name: d.charset for d in console.settings.destinations}
    charset = charsets.get(entry.destination)
    tree = message_tree(entry.payload, charset)
    ack = message_tree(entry.ack, charset) if entry.ack else None
    attempt_acks = [message_tree(a.ack, charset).text if a.ack else "" for a in attempts]
    source = [entry.source] if entry.source else []
    audit.record(request, "read", entities=source,
                 patients=audit.patients_in([entry.partition_key]))  # fmt: skip
    return render(request, "outbox_entry.html", title=f"Outbound message {pk}",
                  section="outbox", entry=entry, attempts=list(zip(attempts, attempt_acks,
                                                                   strict=True)),
                  tree=tree, ack=ack, can_retry=entry.status in outbox.RETRY_FROM,
                  can_cancel=entry.status in outbox.CANCEL_FROM,
                  source_link=f"/fhir/R4/{entry.source}" if entry.source else None)  # fmt: skip


async def retry(console: Console, request: Request) -> Response:
    return await _move(console, request, "retry", "retried")


async def cancel(console: Console, request: Request) -> Response:
    return await _move(console, request, "cancel", "cancelled")


async def _move(console: Console, request: Request, verb: str, done: str) -> Response:
    pk = request.path_params["pk"]
    entry, _ = await run_in_threadpool(_get, console, pk)
    action, allowed = outbox.OPERATIONS[verb]

    def move() -> bool:
        with console.store.database.writer.begin() as connection:
            return bool(action(connection, pk, utc_now()))

    moved = await run_in_threadpool(move)
    status = 303 if moved else 409
    audit.record(request, verb, action="E", entities=[entry.source] if entry.source else [],
                 patients=audit.patients_in([entry.partition_key]), outcome=status)  # fmt: skip
    if not moved:
        return error_page(request, 409, "Not possible",
                          f"Message {pk} is {entry.status}; it can be {done} only when "
                          f"{' or '.join(allowed)}.")  # fmt: skip
    return RedirectResponse(f"/console/outbox/{pk}?done={done}", status_code=303)
