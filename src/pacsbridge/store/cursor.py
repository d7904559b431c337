"""Opaque page cursors: the keyset position of the last row shown, safe to put in a URL."""

from __future__ import annotations

import base64
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson

from pacsbridge.errors import BadValue


def encode_cursor(values: list[Any]) -> str:
    def tag(value: Any) -> list[Any]:
        if isinstance(value, datetime):
            return ["d", value.isoformat()]
        if isinstance(value, Decimal | float):
            return ["n", str(value)]
        return ["s", value]

    raw = orjson.dumps([tag(v) for v in values])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        tagged = orjson.loads(raw)
        values = []
        for kind, value in tagged:
            if kind == "d":
                values.append(datetime.fromisoformat(value))
            elif kind == "n":
                values.append(Decimal(value))
            else:
                values.append(value)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadValue("the _cursor of this page link is damaged", "_cursor") from exc
    if len(values) != expected:
        raise BadValue("the _cursor does not belong to this search", "_cursor")
    return values
