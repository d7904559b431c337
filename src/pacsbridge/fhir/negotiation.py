"""Content negotiation: JSON or XML in and out (R4 http.html#mime-type).

The format of a response comes from ``_format`` first, then ``Accept``; the format of a
body from ``Content-Type``. Media types may carry parameters (``; charset=utf-8``,
``fhirVersion=4.0``). Non-FHIR ``application/json`` and ``application/xml`` are accepted
too, as most clients send them.
"""

from __future__ import annotations

from typing import Any, Literal

import orjson

from pacsbridge.errors import BadValue, Unsupported
from pacsbridge.formats.fhir.xml import from_xml, to_xml

Format = Literal["json", "xml"]

MEDIA_TYPES: dict[Format, str] = {
    "json": "application/fhir+json; charset=utf-8",
    "xml": "application/fhir+xml; charset=utf-8",
}
_FORMAT_NAMES: dict[str, Format] = {
    "json": "json",
    "application/json": "json",
    "application/fhir+json": "json",
    "application/json+fhir": "json",
    "text/json": "json",
    "xml": "xml",
    "text/xml": "xml",
    "application/xml": "xml",
    "application/fhir+xml": "xml",
    "application/xml+fhir": "xml",
}


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def response_format(format_param: str | None, accept: str | None) -> Format:
    """The format to answer in; JSON when nothing usable is asked for."""
    if format_param:
        chosen = _FORMAT_NAMES.get(_media_type(format_param.replace(" ", "+")))
        if chosen is None:
            raise Unsupported(f"_format={format_param} is not a FHIR format (json or xml)")
        return chosen
    if accept:
        best: tuple[float, Format] | None = None
        for part in accept.split(","):
            pieces = [p.strip() for p in part.split(";")]
            chosen = _FORMAT_NAMES.get(pieces[0].lower())
            if chosen is None:
                continue
            quality = 1.0
            for piece in pieces[1:]:
                if piece.startswith("q="):
                    try:
                        quality = float(piece[2:])
                    except ValueError:
                        quality = 0.0
            if best is None or quality > best[0]:
                best = (quality, chosen)
        if best:
            return best[1]
    return "json"


def parse_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """A request body as a resource dict, or a 400/415-worthy error."""
    if not body:
        raise BadValue("the request has no body; a resource was expected")
    media = _media_type(content_type) if content_type else ""
    kind = _FORMAT_NAMES.get(media) if media else None
    if media and kind is None:
        raise UnsupportedMediaType(
            f"Content-Type {media} is not a FHIR format; use application/fhir+json or +xml"
        )
    if kind == "xml" or (kind is None and body.lstrip()[:1] == b"<"):
        return from_xml(body)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadValue(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise BadValue("the body must be a JSON object (a FHIR resource)")
    return parsed


def render(content: dict[str, Any], fmt: Format, *, pretty: bool = False) -> bytes:
    if fmt == "xml":
        return to_xml(content, pretty=pretty)
    return orjson.dumps(content, option=orjson.OPT_INDENT_2 if pretty else 0)


class UnsupportedMediaType(Unsupported):
    """A body in a format we do not read (HTTP 415)."""
