"""FHIR search syntax (R4 3.1.1) parsed into a :class:`SearchRequest` the store can run.

The query string is the store's query language: the REST face, conditional interactions
(``If-None-Exist``, conditional update and delete) and later the other faces all speak it.
Parsing is separate from SQL so that a bad parameter is refused before any query runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pacsbridge.errors import BadValue, Unsupported
from pacsbridge.store.search.params import SearchParam, SearchRegistry
from pacsbridge.store.search.values import has_control_character

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
MODIFIERS = {
    "string": {"exact", "contains", "missing"},
    "token": {"missing", "not", "text"},
    "reference": {"missing", "identifier"},
    "date": {"missing"},
    "uri": {"missing", "below", "above"},
    "number": {"missing"},
    "quantity": {"missing"},
}
SUMMARY_MODES = ("true", "false", "text", "data", "count")
TOTAL_MODES = ("none", "estimate", "accurate")
RESULT_PARAMETERS = {
    "_count", "_sort", "_include", "_revinclude", "_total", "_summary", "_elements",
    "_cursor", "_format", "_pretty", "_contained", "_containedType",
}  # fmt: skip
UNSUPPORTED_PARAMETERS = {"_has", "_query", "_filter", "_text", "_content", "_list"}


@dataclass(frozen=True)
class Value:
    """One OR-ed value: its comparison prefix (dates, numbers, quantities) and its text."""

    text: str
    prefix: str = "eq"


@dataclass(frozen=True)
class Criterion:
    """``param[:modifier]=v1,v2`` (values OR-ed), or a chain through a reference param."""

    param: SearchParam
    modifier: str | None
    values: tuple[Value, ...]
    chain: Chain | None = None


@dataclass(frozen=True)
class Chain:
    """``subject:Patient.identifier=x``: follow ``param`` to ``target_type``, then ``criterion``."""

    target_type: str
    criterion: Criterion


@dataclass(frozen=True)
class Include:
    source_type: str
    param: str  # "*" for every reference parameter
    target_type: str | None
    iterate: bool


@dataclass(frozen=True)
class SortKey:
    param: SearchParam
    descending: bool


@dataclass
class SearchRequest:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)
    count: int = 20
    cursor: str | None = None
    total: str | None = None
    summary: str | None = None
    elements: list[str] | None = None
    includes: list[Include] = field(default_factory=list)
    revincludes: list[Include] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    pretty: bool = False

    @property
    def has_includes(self) -> bool:
        return bool(self.includes or self.revincludes)


def split_values(raw: str) -> list[str]:
    """Split on unescaped commas and undo ``\\,`` ``\\|`` ``\\$`` ``\\\\`` (R4 3.1.1.5.7)."""
    parts, current, escaped = [], [], False
    for char in raw:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


_PREFIXED = re.compile(r"^(eq|ne|gt|lt|ge|le|sa|eb|ap)(?=[0-9\-+.])")


def parse_value(param: SearchParam, text: str) -> Value:
    if param.type in ("date", "number", "quantity"):
        match = _PREFIXED.match(text)
        if match:
            return Value(text[2:], match.group(1))
    return Value(text)


def parse_search(
    resource_type: str,
    params: list[tuple[str, str]],
    registry: SearchRegistry,
    *,
    default_count: int = 20,
    max_count: int = 1000,
) -> SearchRequest:
    """Parse query parameters; unknown parameters are collected, not fatal (lenient handling)."""
    request = SearchRequest(resource_type, count=default_count)
    for name, raw in params:
        base, _, qualifier = name.partition(":")
        if base in RESULT_PARAMETERS:
            _apply_result_parameter(request, base, qualifier, raw, registry, max_count)
        elif name in UNSUPPORTED_PARAMETERS:
            raise Unsupported(f"search parameter {name} is not supported", name)
        else:
            criterion = parse_criterion(resource_type, name, raw, registry)
            if criterion is None:
                request.unknown.append(name)
            else:
                request.criteria.append(criterion)
    return request


def parse_criterion(
    resource_type: str, name: str, raw: str, registry: SearchRegistry
) -> Criterion | None:
    """One ``name=value`` pair; None if ``name`` is not a parameter of ``resource_type``."""
    head, _, rest = name.partition(".")
    code, _, modifier = head.partition(":")
    param = registry.get(resource_type, code)
    if param is None:
        return None
    if rest:  # chained: code[:Type].rest
        if param.type != "reference":
            raise BadValue(f"{code} is not a reference parameter and cannot be chained", name)
        target = _chain_target(param, modifier or None, name)
        inner = parse_criterion(target, rest, raw, registry)
        if inner is None:
            raise BadValue(f"{target} has no search parameter {rest.split(':')[0]!r}", name)
        return Criterion(param, None, (), Chain(target, inner))
    modifier_or_none = modifier or None
    if modifier_or_none is not None:
        _check_modifier(param, modifier_or_none, name)
    if modifier_or_none == "missing":
        if raw not in ("true", "false"):
            raise BadValue(f"{name} takes true or false, not {raw!r}", name)
        return Criterion(param, "missing", (Value(raw),))
    if raw == "":
        raise BadValue(f"search parameter {name} has an empty value", name)
    if has_control_character(raw):
        raise BadValue(f"search parameter {name} contains a control character", name)
    values = tuple(parse_value(param, part) for part in split_values(raw))
    if any(value.text == "" for value in values):
        raise BadValue(f"search parameter {name} has an empty value in {raw!r}", name)
    return Criterion(param, modifier_or_none, values)


def _check_modifier(param: SearchParam, modifier: str, name: str) -> None:
    if param.type == "reference" and modifier[:1].isupper():
        if param.targets and modifier not in param.targets:
            raise BadValue(f"{param.name} cannot refer to {modifier}", name)
        return
    if modifier in ("text", "identifier"):
        raise Unsupported(f"the :{modifier} modifier is not supported", name)
    if modifier not in MODIFIERS.get(param.type, set()):
        raise BadValue(f"unknown modifier :{modifier} for {param.type} parameter", name)


def _chain_target(param: SearchParam, modifier: str | None, name: str) -> str:
    if modifier:
        if param.targets and modifier not in param.targets:
            raise BadValue(f"{param.name} cannot refer to {modifier}", name)
        return modifier
    if len(param.targets) == 1:
        return param.targets[0]
    raise BadValue(
        f"{param.name} may refer to several types; name one, e.g. {param.name}:Patient.…", name
    )


def _apply_result_parameter(
    request: SearchRequest,
    name: str,
    qualifier: str,
    raw: str,
    registry: SearchRegistry,
    max_count: int,
) -> None:
    if name == "_count":
        if not raw.isdigit():
            raise BadValue(f"_count must be a whole number, not {raw!r}", name)
        request.count = min(int(raw), max_count)
    elif name == "_sort":
        for part in raw.split(","):
            descending = part.startswith("-")
            code = part.lstrip("-")
            param = registry.get(request.resource_type, code)
            if param is None:
                raise BadValue(f"cannot sort {request.resource_type} by {code!r}", name)
            request.sort.append(SortKey(param, descending))
    elif name in ("_include", "_revinclude"):
        request_list = request.includes if name == "_include" else request.revincludes
        iterate = qualifier in ("iterate", "recurse")
        request_list.append(_parse_include(raw, name, iterate, registry))
    elif name == "_total":
        if raw not in TOTAL_MODES:
            raise BadValue(f"_total must be one of {', '.join(TOTAL_MODES)}", name)
        request.total = raw
    elif name == "_summary":
        if raw not in SUMMARY_MODES:
            raise BadValue(f"_summary must be one of {', '.join(SUMMARY_MODES)}", name)
        request.summary = raw
    elif name == "_elements":
        request.elements = [e.strip() for e in raw.split(",") if e.strip()]
    elif name == "_cursor":
        request.cursor = raw
    elif name == "_pretty":
        request.pretty = raw == "true"
    elif name in ("_contained", "_containedType") and raw not in ("false", "container"):
        raise Unsupported(f"{name}={raw} is not supported", name)


def _parse_include(raw: str, name: str, iterate: bool, registry: SearchRegistry) -> Include:
    parts = raw.split(":")
    if len(parts) < 2:
        raise BadValue(f"{name} is Type:param[:targetType], not {raw!r}", name)
    source, code = parts[0], parts[1]
    target = parts[2] if len(parts) > 2 else None
    if code != "*":
        param = registry.get(source, code)
        if param is None or param.type != "reference":
            raise BadValue(f"{source} has no reference parameter {code!r}", name)
    return Include(source, code, target, iterate)
