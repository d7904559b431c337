"""Configuration and health, read-only: the effective settings, partners, destinations and
DICOM peers as the process runs them, with secrets masked, and the state of each part.

What ``pacsbridge.toml``, the environment and the flags made together is shown once, in
one place, so nobody has to reconstruct it from three sources during an incident.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pacsbridge.console.context import Console
from pacsbridge.console.pages import render
from pacsbridge.console.status import destination_states, listener_states, sender_links
from pacsbridge.store.resources import utc_now

MASK = "•••• (hidden)"
_SECRET = re.compile(r"(password|secret|passphrase|private|credential)", re.IGNORECASE)
SECTIONS_APART = ("partners", "destinations", "dicom_peers")


def masked_url(url: str) -> str:
    """A database URL without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    user = parts.username or ""
    netloc = f"{user}:{MASK}@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def masked(value: Any, key: str = "") -> Any:
    """``value`` with every secret replaced: by key name, and passwords inside URLs."""
    if isinstance(value, dict):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    if key and _SECRET.search(key) and value not in (None, "", [], {}):
        return MASK
    if isinstance(value, str) and "://" in value and "@" in value:
        return masked_url(value)
    return value


def settings_rows(settings: Any) -> list[tuple[str, str]]:
    """The top-level settings as (key, text), the long lists left to their own tables."""
    dumped = masked(settings.model_dump(mode="json"))
    dumped["database_url"] = masked_url(settings.effective_database_url())
    return [(key, _text(value)) for key, value in sorted(dumped.items())
            if key not in SECTIONS_APART]  # fmt: skip


def _text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


async def page(console: Console, request: Request) -> Response:
    settings = console.settings

    def health() -> dict[str, Any]:
        try:
            console.store.database.ping()
            database = "reachable"
        except Exception as exc:  # the page is the diagnosis
            database = f"unreachable: {type(exc).__name__}"
        destinations = []
        if database == "reachable":
            links = sender_links(request.app.state)
            with console.store.reader() as reader:
                destinations = destination_states(reader.connection, settings, links, utc_now())
        return {"database": database, "destinations": destinations}

    state = await run_in_threadpool(health)
    trail = getattr(request.app.state, "audit", None)
    return render(
        request, "configuration.html", title="Configuration and health",
        section="configuration", settings_rows=settings_rows(settings),
        dialect=console.store.database.dialect, listeners=listener_states(console.listeners,
                                                                          settings),
        partners=[masked(p.model_dump(mode="json", exclude_defaults=True))
                  for p in settings.partners],
        destination_settings=[masked(d.model_dump(mode="json")) for d in settings.destinations],
        peers=[masked(p.model_dump(mode="json", exclude_defaults=True))
               for p in settings.dicom_peers],
        audit={"enabled": bool(trail and trail.enabled), "queued": trail.queued if trail else 0,
               "written": trail.written if trail else 0, "lost": trail.lost if trail else 0},
        **state,
    )  # fmt: skip
