"""The dashboard: listeners, destinations, traffic per minute and the latest failures.

The page embeds its live part, and ``/console/live/dashboard`` serves that part alone for
the page's script to put in place every few seconds. It shows no patient identifiers, so
the refresh needs no audit record: the failures link to pages that do record.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from pacsbridge.console.activity import MINUTES, recent_failures, recent_refusals, traffic
from pacsbridge.console.chart import Series, bar_chart
from pacsbridge.console.context import Console
from pacsbridge.console.pages import fragment, render
from pacsbridge.console.status import destination_states, listener_states, sender_links
from pacsbridge.store.resources import utc_now

log = logging.getLogger("pacsbridge.console")
REFRESH_SECONDS = 5


async def page(console: Console, request: Request) -> Response:
    data = await run_in_threadpool(_facts, console, request.app.state)
    return render(request, "dashboard.html", title="Dashboard", section="dashboard",
                  refresh_seconds=REFRESH_SECONDS, **data)  # fmt: skip


async def live(console: Console, request: Request) -> Response:
    data = await run_in_threadpool(_facts, console, request.app.state)
    return fragment("dashboard_live.html", **data)


def _facts(console: Console, app_state: Any) -> dict[str, Any]:
    now = utc_now()
    facts: dict[str, Any] = {
        "listeners": listener_states(console.listeners, console.settings),
        "now": now, "database_error": None, "destinations": [], "refusals": [],
        "failures": [], "chart": None, "totals": {}, "waiting": 0, "oldest": None,
    }  # fmt: skip
    try:
        with console.store.reader() as reader:
            connection = reader.connection
            counts = traffic(connection, console.store.database.dialect, now)
            facts["refusals"] = recent_refusals(connection)
            facts["failures"] = recent_failures(connection)
            facts["destinations"] = destination_states(
                connection, console.settings, sender_links(app_state), now
            )
    except Exception as exc:  # the dashboard is where an operator sees the database is down
        log.warning("the dashboard could not read the database: %s", exc)
        facts["database_error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        return facts
    series = [
        Series("Received", "#1d4ed8", counts.inbound),
        Series("Sent (attempts)", "#047857", counts.outbound),
        Series("Errors (AE/AR in, failed out)", "#b91c1c",
               [a + b for a, b in zip(counts.inbound_errors, counts.outbound_failed,
                                      strict=True)]),
    ]  # fmt: skip
    facts["series"] = series
    facts["chart"] = bar_chart(series, title=f"HL7 messages per minute, last {MINUTES} minutes",
                                minutes=MINUTES)  # fmt: skip
    facts["totals"] = {s.name: sum(s.values) for s in series}
    facts["waiting"] = sum(d.waiting for d in facts["destinations"])
    ages = [d.oldest_waiting_seconds for d in facts["destinations"] if d.oldest_waiting_seconds]
    facts["oldest"] = max(ages, default=None)
    return facts
