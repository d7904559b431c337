"""How one search criterion matches index rows, per parameter type (FHIR R4 3.1.1.4).

Every function returns a condition on the ``resource`` table, so criteria combine with AND
and chains nest: ``pk IN (SELECT resource_pk FROM idx_… WHERE …)``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Table, and_, false, literal, not_, or_, select
from sqlalchemy.sql import ColumnElement

from pacsbridge.errors import BadValue
from pacsbridge.store.search.dates import date_match, date_rows
from pacsbridge.store.search.params import SearchParam
from pacsbridge.store.search.parse import Criterion, Value
from pacsbridge.store.search.values import (
    decimal_range,
    normalize_string,
    parse_decimal,
    parse_reference,
)
from pacsbridge.store.tables import INDEX_TABLES, idx_reference, resource


def search_conditions(res_type: str, criteria: list[Criterion]) -> list[ColumnElement[bool]]:
    """Conditions for all criteria; criteria on one date parameter share one index query.

    ``birthdate=ge1970&birthdate=lt1971`` then reads the index once, through the window
    both bounds allow, instead of intersecting two half-tables of matches.
    """
    conditions, dates = [], {}
    for criterion in criteria:
        if _plain_date(criterion):
            dates.setdefault(criterion.param.name, []).append(criterion)
        else:
            conditions.append(criterion_condition(criterion, res_type))
    for group in dates.values():
        conditions.append(resource.c.pk.in_(date_rows(res_type, group[0].param.name, group)))
    return conditions


def restricts_type(criterion: Criterion) -> bool:
    """Whether the criterion's own subquery keeps to one resource type."""
    if criterion.chain is not None:
        return True
    if criterion.param.name in ("_id", "_lastUpdated") or criterion.modifier == "not":
        return False
    return not (criterion.modifier == "missing" and criterion.values[0].text == "true")


def _plain_date(criterion: Criterion) -> bool:
    return (criterion.chain is None and criterion.param.type == "date"
            and criterion.modifier is None and criterion.param.name != "_lastUpdated")  # fmt: skip


def criterion_condition(criterion: Criterion, res_type: str) -> ColumnElement[bool]:
    param = criterion.param
    if criterion.chain is not None:
        return _chain_condition(criterion, res_type)
    if param.name == "_id":
        return _on_id(criterion)
    if param.name == "_lastUpdated":
        matched = [date_match(v, resource.c.last_updated, resource.c.last_updated)
                   for v in criterion.values]  # fmt: skip
        return or_(*matched)
    if _plain_date(criterion):
        return resource.c.pk.in_(date_rows(res_type, param.name, [criterion]))
    table = INDEX_TABLES[param.type]
    if criterion.modifier == "missing":
        has_any = resource.c.pk.in_(_rows_of(table, res_type, param))
        return not_(has_any) if criterion.values[0].text == "true" else has_any
    matched = [_value_condition(param, criterion.modifier, v, table) for v in criterion.values]
    rows = _rows_of(table, res_type, param).where(or_(*matched))
    if criterion.modifier == "not":
        return resource.c.pk.not_in(rows)
    return resource.c.pk.in_(rows)


def _rows_of(table: Table, res_type: str, param: SearchParam) -> Any:
    return select(table.c.resource_pk).where(table.c.res_type == res_type,
                                             table.c.param == param.name)  # fmt: skip


def _on_id(criterion: Criterion) -> ColumnElement[bool]:
    ids = [value.text for value in criterion.values]
    if criterion.modifier == "missing":
        return literal(criterion.values[0].text == "false")
    condition = resource.c.res_id.in_(ids)
    return not_(condition) if criterion.modifier == "not" else condition


def _chain_condition(criterion: Criterion, res_type: str) -> ColumnElement[bool]:
    assert criterion.chain is not None
    target_type = criterion.chain.target_type
    # ``resource`` appears again inside: an uncorrelated subquery of its own.
    targets = (
        select(resource.c.res_id)
        .where(
            resource.c.res_type == target_type,
            resource.c.deleted.is_(False),
            criterion_condition(criterion.chain.criterion, target_type),
        )
        .correlate(None)
    )
    referring = select(idx_reference.c.resource_pk).where(
        idx_reference.c.res_type == res_type,
        idx_reference.c.param == criterion.param.name,
        idx_reference.c.target_type == target_type,
        idx_reference.c.target_id.in_(targets),
    )
    return resource.c.pk.in_(referring)


def _value_condition(
    param: SearchParam, modifier: str | None, value: Value, table: Table
) -> ColumnElement[bool]:
    kind = param.type
    if kind == "string":
        return _string_match(modifier, value.text, table)
    if kind == "token":
        return _token_match(value.text, table)
    if kind == "reference":
        return _reference_match(param, modifier, value.text, table)
    if kind == "date":
        return date_match(value, table.c.low, table.c.high)
    if kind == "uri":
        return _uri_match(modifier, value.text, table)
    if kind == "number":
        return _number_match(value, table.c.value)
    if kind == "quantity":
        return _quantity_match(value, table)
    raise BadValue(f"search parameter type {kind} is not searchable", param.name)


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _string_match(modifier: str | None, text: str, table: Table) -> ColumnElement[bool]:
    if modifier == "exact":
        return table.c.value_exact == text
    norm = normalize_string(text)
    if not norm:
        return false()
    if modifier == "contains":
        return table.c.value_norm.contains(norm, autoescape=True)
    return and_(table.c.value_norm >= norm, table.c.value_norm < prefix_upper_bound(norm))


def _token_match(text: str, table: Table) -> ColumnElement[bool]:
    if "|" not in text:
        return table.c.code == text
    system, _, code = text.partition("|")
    if not system:
        return and_(table.c.system.is_(None), table.c.code == code)
    if not code:
        return table.c.system == system
    return and_(table.c.system == system, table.c.code == code)


def _reference_match(
    param: SearchParam, modifier: str | None, text: str, table: Table
) -> ColumnElement[bool]:
    """Parsed as the index parses references (``values.parse_reference``), so both agree."""
    parsed = parse_reference(text)
    if parsed is None:  # a bare id: the type comes from the modifier or the only target
        target_type = modifier if modifier and modifier[:1].isupper() else None
        if target_type is None and len(param.targets) == 1:
            target_type = param.targets[0]
        if target_type is None:
            return table.c.target_id == text
        return and_(table.c.target_type == target_type, table.c.target_id == text)
    target_type, target_id, url = parsed
    by_target = (
        and_(table.c.target_type == target_type, table.c.target_id == target_id)
        if target_type and target_id
        else None
    )
    by_url = table.c.url == url if url else None
    matches = [c for c in (by_target, by_url) if c is not None]
    return or_(*matches) if matches else false()


def _number_match(value: Value, column: Any) -> ColumnElement[bool]:
    low, high = decimal_range(value.text)
    exact = parse_decimal(value.text)
    prefix = value.prefix
    if prefix == "eq":
        return and_(column >= low, column < high)
    if prefix == "ne":
        return or_(column < low, column >= high)
    if prefix in ("gt", "sa"):
        return column > exact
    if prefix in ("lt", "eb"):
        return column < exact
    if prefix == "ge":
        return column >= exact
    if prefix == "le":
        return column <= exact
    margin = abs(exact) * Decimal("0.1")
    return and_(column >= exact - margin, column <= exact + margin)


def _quantity_match(value: Value, table: Table) -> ColumnElement[bool]:
    number, _, rest = value.text.partition("|")
    system, _, code = rest.partition("|")
    parse_decimal(number)  # BadValue names what is wrong
    conditions = [_number_match(Value(number, value.prefix), table.c.value)]
    if system:
        conditions.append(table.c.system == system)
    if code:
        conditions.append(or_(table.c.code == code, table.c.unit == code))
    return and_(*conditions)


def _uri_match(modifier: str | None, text: str, table: Table) -> ColumnElement[bool]:
    if modifier == "below":
        return table.c.uri.startswith(text, autoescape=True)
    if modifier == "above":
        return literal(text).startswith(table.c.uri)
    return table.c.uri == text
