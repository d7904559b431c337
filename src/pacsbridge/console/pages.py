"""The console's HTML: Jinja2 templates rendered on the server, with the headers they need.

Every page gets what the frame shows (who is signed in, the open-mode banner, the
sections) and the form token; the Content-Security-Policy allows our own script and
stylesheet only, no inline script or style and no framing, so injected markup could run
nothing. Pages hold patient data: they are never cached.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import ChainableUndefined, Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pacsbridge import __version__
from pacsbridge.auth.principal import principal_of
from pacsbridge.console.access import may_operate, who
from pacsbridge.console.csrf import FIELD, form_token, remember_browser

SECTIONS = (
    ("dashboard", "Dashboard", "/console/"),
    ("messages", "Messages", "/console/messages"),
    ("outbox", "Outbox", "/console/outbox"),
    ("worklist", "Worklist", "/console/worklist"),
    ("patients", "Patients", "/console/patients"),
    ("configuration", "Configuration", "/console/configuration"),
)
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'",
}
# What a write tells the page it redirects to: a code in the URL, never reflected text.
NOTICES = {
    "reprocessed": "The message was processed again; this is the new log entry.",
    "retried": "The message is back in the queue and goes next for its patient.",
    "cancelled": "The message will not be sent.",
    "created": "The worklist item was added.",
    "saved": "The worklist item was saved.",
    "item-cancelled": "The worklist item was cancelled.",
    "signed": "The report was signed; it is queued for every destination that takes reports.",
}


def local_time(moment: datetime | None, seconds: bool = True) -> str:
    """A naive UTC time from the tables, in the server's time zone."""
    if moment is None:
        return ""
    local = moment.replace(tzinfo=UTC).astimezone()
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def age(seconds: float | None) -> str:
    """``95`` as ``1 min 35 s``: how long something has waited."""
    if seconds is None:
        return "—"
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    if whole < 86400:
        return f"{whole // 3600} h {whole % 3600 // 60} min"
    return f"{whole // 86400} d {whole % 86400 // 3600} h"


def dicom_date(text: str | None) -> str:
    """DICOM DA ``20040119`` as ``2004-01-19``."""
    if text and len(text) == 8 and text.isdigit():
        return f"{text[:4]}-{text[4:6]}-{text[6:]}"
    return text or ""


_ENVIRONMENT = Environment(
    loader=PackageLoader("pacsbridge.console", "templates"),
    autoescape=select_autoescape(["html", "svg"]),
    undefined=ChainableUndefined,  # FHIR elements are optional: a missing one is empty
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENVIRONMENT.filters.update(local_time=local_time, age=age, dicom_date=dicom_date)


def render(
    request: Request, template: str, *, title: str, section: str = "", status: int = 200,
    **context: Any,
) -> HTMLResponse:  # fmt: skip
    """A whole page, in the frame of ``base.html``."""
    principal = principal_of(request.scope)
    token, fresh = form_token(request)
    notice = NOTICES.get(request.query_params.get("done", ""))
    text = _ENVIRONMENT.get_template(template).render(
        title=title, section=section, sections=SECTIONS, notice=notice,
        open_mode=request.app.state.settings.auth == "open", user=who(principal),
        signed_in=principal.token_id is not None, may_operate=may_operate(principal),
        csrf_field=FIELD, csrf_token=token, version=__version__,
        zone=datetime.now().astimezone().tzname(), **context,
    )  # fmt: skip
    response = HTMLResponse(text, status_code=status, headers=HEADERS)
    if fresh is not None:
        remember_browser(response, fresh, secure=request.url.scheme == "https")
    return response


def fragment(template: str, **context: Any) -> HTMLResponse:
    """Part of a page, for the live refresh to put in place."""
    text = _ENVIRONMENT.get_template(template).render(**context)
    return HTMLResponse(text, headers=HEADERS)


def error_page(request: Request, status: int, title: str, text: str, *,
               bare: bool = False) -> HTMLResponse:  # fmt: skip
    """A refusal or failure as a page; ``bare`` leaves out the sections (not for this user)."""
    return render(request, "error.html", title=title, status=status, text=text, bare=bare)
