"""Errors to DICOMweb answers: an HTTP status and a small JSON problem body (RFC 9457).

PS3.18 gives only status codes (8.7.4, 10.4.4, 10.6.4); the body is ours, shaped as an
RFC 9457 problem so that a viewer's console shows why. The most specific error class wins,
as in ``dicom/status.py``. Only this module catches ``Exception`` for the face.
"""

from __future__ import annotations

import logging

import orjson
from starlette.responses import Response

from pacsbridge.errors import (
    InvalidContent,
    NotAuthorized,
    PacsbridgeError,
    TooCostly,
    UnknownKey,
    Unsupported,
)

log = logging.getLogger("pacsbridge.dicomweb")

PROBLEM_MEDIA_TYPE = "application/problem+json"


class NotAcceptable(Unsupported):
    """No media type the client accepts can be produced (HTTP 406, PS3.18 8.7.4)."""


class Undecodable(NotAcceptable):
    """Pixel data that cannot be decoded here (no codec, or corrupt): nothing rendered or
    decompressed can be produced, so the answer is 406 and the detail says why."""


STATUS_FOR: dict[type[Exception], int] = {
    NotAcceptable: 406,
    InvalidContent: 400,
    Unsupported: 400,
    UnknownKey: 404,
    TooCostly: 413,
    NotAuthorized: 403,
}

TITLES = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 406: "Not Acceptable",
          413: "Content Too Large", 500: "Internal Server Error"}  # fmt: skip


def status_for(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_FOR:
            return STATUS_FOR[cls]
    return 500


def problem_response(exc: Exception) -> Response:
    """The answer to any error; unexpected ones are logged and told apart from ours."""
    status = status_for(exc)
    if isinstance(exc, PacsbridgeError):
        detail = exc.text
    else:
        log.exception("DICOMweb request failed", exc_info=exc)
        detail = "the server failed to answer; see its log"
    body = {"type": "about:blank", "title": TITLES.get(status, "Error"), "status": status,
            "detail": detail}  # fmt: skip
    return Response(orjson.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE)
