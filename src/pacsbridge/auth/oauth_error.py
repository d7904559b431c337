"""OAuth 2.0 error answers of the token, revocation and introspection endpoints.

RFC 6749 §5.2: a JSON object with ``error`` and ``error_description``, 400, or 401 for a
client that failed to authenticate (with ``WWW-Authenticate`` when it tried HTTP Basic).
Every answer that carries or refuses a token is ``Cache-Control: no-store`` (§5.1).
Parameters come form-encoded and each at most once (§3.1, §3.2).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """A refusal with its RFC 6749 error code (``invalid_grant``, ``invalid_client``...)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.basic_challenge = False  # set when the client tried HTTP Basic


def invalid_client(description: str) -> OAuthError:
    return OAuthError("invalid_client", description, 401)


def oauth_json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def error_response(exc: OAuthError) -> JSONResponse:
    answer = oauth_json({"error": exc.error, "error_description": exc.description}, exc.status)
    if exc.status == 401 and exc.basic_challenge:
        answer.headers["WWW-Authenticate"] = 'Basic realm="pacsbridge"'
    return answer


async def read_form(request: Request) -> dict[str, str]:
    """The request's form fields; a repeated one is ``invalid_request``."""
    form = await request.form()
    fields: dict[str, str] = {}
    for name, value in form.multi_items():
        if name in fields:
            raise OAuthError("invalid_request", f"parameter {name} is repeated")
        if isinstance(value, str):
            fields[name] = value
    return fields
