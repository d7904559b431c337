"""The authorization server's HTML pages: sign-in, consent and errors, rendered by Jinja2.

Plain server-rendered forms, no script: they work with a keyboard and a screen reader and
cannot be framed (clickjacking). In the ``open`` mode every page says loudly that the
server trusts its whole network, since a sign-in there protects less than it seems.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.responses import HTMLResponse

_ENVIRONMENT = Environment(
    loader=PackageLoader("pacsbridge.auth", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    # No script at all; form-action is left open: a consent form redirects to the app.
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
}


class Pages:
    def __init__(self, *, open_mode: bool) -> None:
        self.open_mode = open_mode

    def render(
        self,
        template: str,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **context: Any,
    ) -> HTMLResponse:
        text = _ENVIRONMENT.get_template(template).render(open_mode=self.open_mode, **context)
        return HTMLResponse(text, status_code=status, headers={**PAGE_HEADERS, **(headers or {})})

    def error(self, title: str, text: str, status: int = 400) -> HTMLResponse:
        return self.render("error.html", status=status, title=title, text=text)

    def sign_in_form(
        self,
        *,
        action: str,
        hidden: list[tuple[str, str]],
        failed: int = 0,
        username: str = "",
        client_name: str | None = None,
    ) -> HTMLResponse:
        """The one sign-in page, for apps and the console.

        ``failed`` < 0 after a wrong password (401), > 0 the seconds a lock has left (429
        with Retry-After); the same words whether or not the username exists.
        """
        status, headers, message = 200, {}, None
        if failed > 0:
            status, headers = 429, {"Retry-After": str(failed)}
            message = (
                f"Too many wrong passwords for this username. Wait {failed} seconds, "
                "then try again."
            )
        elif failed < 0:
            status, message = 401, "Wrong username or password."
        return self.render(
            "login.html",
            status=status,
            headers=headers,
            title="Sign in",
            action=action,
            hidden=hidden,
            message=message,
            username=username,
            client_name=client_name,
        )
