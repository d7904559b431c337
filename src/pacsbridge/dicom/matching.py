"""DICOM attribute matching (PS3.4 C.2.2.2) turned into SQL conditions on one column.

Single value, wildcards (``*`` ``?``), ranges (``A-B``, ``-B``, ``A-``) for dates and
times, lists of UIDs (``\\``-separated), universal matching (empty value: no condition).
Person names match case- and accent-insensitively, as modalities type them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.sql import ColumnElement

from pacsbridge.errors import BadValue
from pacsbridge.store.search.values import normalize_string


def _like(pattern: str) -> str:
    escaped = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped.replace("*", "%").replace("?", "_")


def match_text(column: Any, value: str, *, person_name: bool = False) -> ColumnElement[bool] | None:
    """Single value or wildcard matching; None for universal matching."""
    value = value.strip()
    if not value or value == "*":
        return None
    if person_name:
        value = normalize_string(value).upper()
    if "*" in value or "?" in value:
        return column.like(_like(value), escape="\\")
    return column == value


def match_uids(column: Any, value: str) -> ColumnElement[bool] | None:
    uids = [uid.strip() for uid in value.split("\\") if uid.strip()]
    if not uids:
        return None
    return column.in_(uids) if len(uids) > 1 else column == uids[0]


def match_range(column: Any, value: str, keyword: str) -> ColumnElement[bool] | None:
    """DA or TM: single value or range; times compare on as many digits as given."""
    value = value.strip().replace(":", "")
    if not value:
        return None
    if "-" not in value:
        _check(value, keyword)
        return column.like(f"{value}%") if keyword.endswith("Time") else column == value
    low, _, high = value.partition("-")
    conditions = []
    if low:
        _check(low, keyword)
        conditions.append(column >= low)
    if high:
        _check(high, keyword)
        # a time range end of "10" means up to 10:59:59: pad with the highest digits
        conditions.append(column <= (high + "999999")[:6] if keyword.endswith("Time") else
                          column <= high)  # fmt: skip
    return and_(*conditions) if conditions else None


def _check(value: str, keyword: str) -> None:
    digits = value.split(".")[0]
    if not digits.isdigit():
        raise BadValue(f"{value!r} is not a valid {keyword}", keyword)
