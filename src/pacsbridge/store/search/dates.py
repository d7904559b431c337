"""Date search over the index: exact matching (R4 3.1.1.4.2), read through a narrow window.

A B-tree cannot search intervals, so index rows carry ``long_range``: a value covering
less than two days (a date, a dateTime) is short, anything wider (a month, a year, most
Periods) is long. A short row can only match when its start lies in a window the bounds allow, so
short rows are read through an index range on ``low``; the few long rows are checked one
by one. Both branches apply the exact rules, so the window only speeds things up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, not_, or_, select, union_all
from sqlalchemy.sql import ColumnElement, Select

from pacsbridge.store.resources import utc_now
from pacsbridge.store.search.parse import Criterion, Value
from pacsbridge.store.search.values import date_range
from pacsbridge.store.tables import idx_date

SHORT = timedelta(days=2)
"""Index rows spanning less than this are ``long_range = false``."""


def is_long(low: datetime, high: datetime) -> bool:
    return high - low >= SHORT


def date_rows(res_type: str, param: str, criteria: list[Criterion]) -> Any:
    """Resource keys whose ``param`` satisfies every criterion (each an OR of values)."""
    t = idx_date
    exact = and_(*(or_(*(date_match(v, t.c.low, t.c.high) for v in c.values))
                   for c in criteria))  # fmt: skip
    base = select(t.c.resource_pk).where(t.c.res_type == res_type, t.c.param == param)
    short: Select[Any] = base.where(t.c.long_range.is_(False), exact)
    lowest, highest = _window(criteria)
    if lowest is not None:
        short = short.where(t.c.low >= lowest)
    if highest is not None:
        short = short.where(t.c.low <= highest)
    return union_all(short, base.where(t.c.long_range.is_(True), exact))


def _window(criteria: list[Criterion]) -> tuple[datetime | None, datetime | None]:
    """Bounds on ``low`` that every matching short row keeps to (AND of criteria)."""
    lowest: datetime | None = None
    highest: datetime | None = None
    for criterion in criteria:
        bounds = [_value_window(v) for v in criterion.values]
        low = None if any(b[0] is None for b in bounds) else min(b[0] for b in bounds)
        high = None if any(b[1] is None for b in bounds) else max(b[1] for b in bounds)
        if low is not None:
            lowest = low if lowest is None else max(lowest, low)
        if high is not None:
            highest = high if highest is None else min(highest, high)
    return lowest, highest


def _value_window(value: Value) -> tuple[Any, Any]:
    v_low, v_high = date_range(value.text)
    return {
        "eq": (shift(v_low, -SHORT), v_high),
        "ge": (shift(v_low, -SHORT), None),
        "gt": (shift(v_high, -SHORT), None),
        "sa": (v_high, None),
        "le": (None, v_high),
        "lt": (None, v_low),
        "eb": (None, v_low),
    }.get(value.prefix, (None, None))


def date_match(value: Value, low: Any, high: Any) -> ColumnElement[bool]:
    """R4 3.1.1.4.2: compare the value's implicit range with the resource's range."""
    v_low, v_high = date_range(value.text)
    within = and_(low >= v_low, high <= v_high)
    prefix = value.prefix
    if prefix == "eq":
        return within
    if prefix == "ne":
        return not_(within)
    if prefix == "gt":
        return high > v_high
    if prefix == "lt":
        return low < v_low
    if prefix == "ge":
        return or_(high > v_high, within)
    if prefix == "le":
        return or_(low < v_low, within)
    if prefix == "sa":
        return low > v_high
    if prefix == "eb":
        return high < v_low
    # ap: within 10% of the distance to now, at least a day (R4 leaves the amount open).
    gap = max(abs(utc_now() - v_low) * 0.1, timedelta(days=1))
    return and_(low <= shift(v_high, gap), high >= shift(v_low, -gap))


def shift(moment: datetime, by: timedelta) -> datetime:
    """``moment + by``, held inside the datetime range instead of overflowing."""
    try:
        return moment + by
    except OverflowError:
        return datetime.max if by > timedelta(0) else datetime.min
