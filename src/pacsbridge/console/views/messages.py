"""The HL7 message browser: search the message log, read a message, reprocess it.

The search is the one ``pacsbridge messages list`` runs (``store/message_log.py``). A
message is shown raw and as a tree of named fields, with the ACK that was sent and the
resources it created or changed. Reprocessing runs the HL7 face's own pipeline again
(handed in by ``app.py``) and logs a new entry, as ``pacsbridge messages reprocess`` does.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from pacsbridge.auth.principal import principal_of
from pacsbridge.console import audit
from pacsbridge.console.context import Console
from pacsbridge.console.hl7_tree import message_tree
from pacsbridge.console.pages import error_page, render
from pacsbridge.errors import UnknownKey
from pacsbridge.store.message_log import LoggedMessage, get_message, search_messages

PAGE_SIZE = 50
OUTCOMES = ("AA", "AE", "AR", "CA", "CE", "CR")
FILTERS = ("since", "until", "sender", "type", "patient", "accession", "control_id", "outcome")


def parse_local(text: str) -> datetime | None:
    """A ``datetime-local`` input (server time) as naive UTC, as the tables keep times."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.astimezone(UTC).replace(tzinfo=None)


async def listing(console: Console, request: Request) -> Response:
    params = request.query_params
    wanted = {name: params.get(name, "").strip() for name in FILTERS}
    before = params.get("before", "")
    found = await run_in_threadpool(_search, console, wanted,
                                    int(before) if before.isdigit() else None)  # fmt: skip
    more = None
    if len(found) == PAGE_SIZE:
        more = "?" + urlencode({**{k: v for k, v in wanted.items() if v},
                                "before": found[-1].pk})  # fmt: skip
    references = [r for item in found for r in item.resources]
    audit.record(request, "search", patients=audit.patients_in(references), with_query=True)
    return render(request, "messages.html", title="Messages", section="messages",
                  messages=found, filters=wanted, outcomes=OUTCOMES, more=more)  # fmt: skip


def _search(console: Console, wanted: dict[str, str], before: int | None) -> list[LoggedMessage]:
    with console.store.reader() as reader:
        return search_messages(
            reader.connection, since=parse_local(wanted["since"]),
            until=parse_local(wanted["until"]), sender=wanted["sender"] or None,
            message_type=wanted["type"] or None, patient_id=wanted["patient"] or None,
            accession=wanted["accession"] or None, control_id=wanted["control_id"] or None,
            outcome=wanted["outcome"] or None, before_pk=before, limit=PAGE_SIZE,
        )  # fmt: skip


def _get(console: Console, pk: int) -> LoggedMessage:
    with console.store.reader() as reader:
        item = get_message(reader.connection, pk)
    if item is None:
        raise UnknownKey(f"no HL7 message {pk} in the log", f"message {pk}")
    return item


def resource_links(references: list[str]) -> list[dict[str, Any]]:
    """``Type/id/_history/v`` as links to the current resource and to that version."""
    links = []
    for reference in references:
        current = audit.literal(reference)
        links.append({"label": reference, "current": f"/fhir/R4/{current}",
                      "version": f"/fhir/R4/{reference}" if reference != current else None,
                      "is_patient": current.startswith("Patient/")})  # fmt: skip
    return links


async def detail(console: Console, request: Request) -> Response:
    pk = request.path_params["pk"]
    item = await run_in_threadpool(_get, console, pk)
    tree = message_tree(item.raw, item.charset)
    ack = message_tree(item.ack, item.charset) if item.ack else None
    audit.record(request, "read", entities=item.resources,
                 patients=audit.patients_in(item.resources))  # fmt: skip
    return render(request, "message.html", title=f"Message {pk}", section="messages",
                  item=item, tree=tree, ack=ack, links=resource_links(item.resources),
                  can_reprocess=console.reprocess is not None)  # fmt: skip


async def reprocess(console: Console, request: Request) -> Response:
    pk = request.path_params["pk"]
    if console.reprocess is None:
        return error_page(request, 503, "Not available",
                          "This server cannot reprocess messages (no HL7 pipeline).")  # fmt: skip
    item = await run_in_threadpool(_get, console, pk)
    who = principal_of(request.scope).subject[:40]
    peer = f"reprocess of {pk} by {who}"
    await run_in_threadpool(console.reprocess, item.raw, peer)
    newer = await run_in_threadpool(_reprocessed, console, item, peer)
    if newer is None:
        audit.record(request, "reprocess", entities=item.resources,
                     patients=audit.patients_in(item.resources), outcome=500)  # fmt: skip
        return error_page(request, 500, "Not logged",
                          "The message was processed again but its new log entry was not "
                          "found; see the message list.")  # fmt: skip
    audit.record(request, "reprocess", entities=newer.resources,
                 patients=audit.patients_in(item.resources + newer.resources))  # fmt: skip
    return RedirectResponse(f"/console/messages/{newer.pk}?done=reprocessed", status_code=303)


def _reprocessed(console: Console, item: LoggedMessage, peer: str) -> LoggedMessage | None:
    """The log entry the reprocessing just wrote: newer, same control ID, our peer."""
    with console.store.reader() as reader:
        candidates = search_messages(reader.connection, control_id=item.control_id or None,
                                     limit=20)  # fmt: skip
    return next((m for m in candidates if m.pk > item.pk and m.peer == peer), None)
