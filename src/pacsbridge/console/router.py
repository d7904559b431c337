"""The console's routes, all in one table, each behind the same gate.

The console lives under ``/console`` (``/`` redirects there), so that the auth middleware
sends a browser without a session to the login page by path alone. Every route passes
:func:`_gate`: staff only (403 page otherwise), administrators for the interface
operations, a genuine form token on every POST, and the store's typed errors answered
as pages, in this one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from pacsbridge.auth.principal import principal_of
from pacsbridge.config import Settings
from pacsbridge.console.access import may_operate, may_use_console
from pacsbridge.console.context import Console, Reprocess
from pacsbridge.console.csrf import FIELD, is_genuine
from pacsbridge.console.pages import error_page
from pacsbridge.console.views import (
    configuration,
    dashboard,
    messages,
    outbox,
    patients,
    reports,
    worklist,
)
from pacsbridge.errors import (
    DuplicateKey,
    FinalState,
    Gone,
    InvalidContent,
    NotAuthorized,
    PacsbridgeError,
    UnknownKey,
    VersionConflict,
)
from pacsbridge.store import Store

View = Callable[[Console, Request], Awaitable[Response]]
STATIC = Path(__file__).parent / "static"
USE, OPERATE = "use", "operate"

# path, view, method, who may call it
ROUTES: list[tuple[str, View, str, str]] = [
    ("/", dashboard.page, "GET", USE),
    ("/live/dashboard", dashboard.live, "GET", USE),
    ("/messages", messages.listing, "GET", USE),
    ("/messages/{pk:int}", messages.detail, "GET", USE),
    ("/messages/{pk:int}/reprocess", messages.reprocess, "POST", OPERATE),
    ("/outbox", outbox.listing, "GET", USE),
    ("/outbox/{pk:int}", outbox.detail, "GET", USE),
    ("/outbox/{pk:int}/retry", outbox.retry, "POST", OPERATE),
    ("/outbox/{pk:int}/cancel", outbox.cancel, "POST", OPERATE),
    ("/worklist", worklist.listing, "GET", USE),
    ("/worklist/new", worklist.new, "GET", USE),
    ("/worklist/new", worklist.create, "POST", USE),
    ("/worklist/{order_id}", worklist.edit, "GET", USE),
    ("/worklist/{order_id}", worklist.save, "POST", USE),
    ("/worklist/{order_id}/cancel", worklist.cancel, "POST", USE),
    ("/patients", patients.search, "GET", USE),
    ("/patients/{patient_id}", patients.detail, "GET", USE),
    ("/studies/{study_uid}", patients.study, "GET", USE),
    ("/studies/{study_uid}/reports", reports.sign, "POST", USE),
    ("/configuration", configuration.page, "GET", USE),
]

# The store's errors as pages (STYLE.md's table, FHIR column).
_STATUS: list[tuple[type[PacsbridgeError], int, str]] = [
    (Gone, 410, "Gone"),
    (UnknownKey, 404, "Not found"),
    (VersionConflict, 409, "Changed meanwhile"),
    (DuplicateKey, 409, "Already there"),
    (FinalState, 409, "No longer possible"),
    (InvalidContent, 422, "Not valid"),
    (NotAuthorized, 403, "Not allowed"),
]


def console_routes(store: Store, settings: Settings, listeners: dict | None = None,
                   reprocess: Reprocess | None = None) -> list[BaseRoute]:  # fmt: skip
    """``/`` (a redirect) and ``/console``: routes for the application's top level."""
    console = Console(store, settings, listeners or {}, reprocess)

    async def to_console(request: Request) -> RedirectResponse:
        return RedirectResponse("/console/", status_code=307)

    pages = [Route(path, _gate(console, view, who), methods=[method])
             for path, view, method, who in ROUTES]  # fmt: skip
    return [
        Route("/", to_console, methods=["GET", "HEAD"]),
        Route("/console", to_console, methods=["GET", "HEAD"]),
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
        Mount("/console", routes=pages),
    ]


def _gate(console: Console, view: View, who: str) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        principal = principal_of(request.scope)
        if not may_use_console(principal):
            return error_page(request, 403, "Not for this account",
                              "The console is for staff: sign in as a staff member.",
                              bare=True)  # fmt: skip
        if who == OPERATE and not may_operate(principal):
            return error_page(request, 403, "For administrators",
                              "Reprocessing and moving outbound messages are for "
                              "administrators, as on the operations API.")  # fmt: skip
        if request.method == "POST":
            form = await request.form()
            submitted = form.get(FIELD)
            if not is_genuine(request, submitted if isinstance(submitted, str) else None):
                return error_page(request, 403, "Form refused",
                                  "This form did not come from a console page of this "
                                  "browser, or the page is out of date. Reload the page "
                                  "and try again.")  # fmt: skip
        try:
            return await view(console, request)
        except PacsbridgeError as exc:
            status, title = next(((s, t) for cls, s, t in _STATUS if isinstance(exc, cls)),
                                 (400, "Not possible"))  # fmt: skip
            return error_page(request, status, title, exc.text)

    return endpoint
