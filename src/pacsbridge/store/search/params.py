"""Search parameters as data: what each FHIR search parameter is called and where it looks.

As HAPI FHIR's ``RuntimeSearchParam`` and ``ISearchParamRegistry``, a parameter is a record
(resource, name, type, paths, targets) looked up by resource type and name, so a new parameter
is a new line in ``params.json`` (or an ``extra`` entry from configuration), never new code.

A path is a dotted list of JSON element names (``series.instance.uid``); arrays are walked
wherever they occur. Choice elements are spelled out (``occurrenceDateTime``,
``occurrencePeriod``). One step may carry a filter ``[key=value]`` that keeps only the objects
whose ``key`` equals ``value``: it stands for FHIRPath's ``.where(system='phone')`` (FHIR R4
Patient ``phone``). FHIRPath's ``.where(resolve() is Patient)`` is written as ``targets``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import orjson

#: The search parameter types we index (FHIR R4 SearchParamType, less composite and special).
TYPES = frozenset({"string", "token", "reference", "date", "uri", "quantity", "number"})

#: The pseudo resource type of the parameters every resource has (FHIR R4 search 3.1.1.3).
COMMON = "Resource"

_ENTRY_KEYS = frozenset({"resource", "name", "type", "paths", "targets", "description"})
_RESOURCE = re.compile(r"[A-Z][A-Za-z]*")
_NAME = re.compile(r"_?[A-Za-z][A-Za-z0-9_\-.]*")
_STEP = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<key>[A-Za-z]+)=(?P<value>[^\]]+)\])?")


@dataclass(frozen=True)
class Step:
    """One element name of a path, with an optional ``[key=value]`` filter."""

    name: str
    key: str | None = None
    value: str | None = None


def parse_path(path: str) -> tuple[Step, ...]:
    """Split ``"telecom[system=phone]"`` or ``"series.instance.uid"`` into steps.

    Raises ``ValueError`` for anything else, so a typo fails when the registry loads.
    """
    steps = []
    for part in path.split("."):
        match = _STEP.fullmatch(part)
        if match is None:
            raise ValueError(f"bad path {path!r}: {part!r} is not an element name")
        steps.append(Step(match["name"], match["key"], match["value"]))
    return tuple(steps)


@dataclass(frozen=True)
class SearchParam:
    """One search parameter of one resource type (FHIR R4 SearchParameter, reduced).

    ``targets`` lists the resource types a reference parameter may point at; empty means any.
    ``steps`` is ``paths`` parsed once, here, so extraction never parses a path again.
    """

    resource: str
    name: str
    type: str
    paths: tuple[str, ...]
    targets: tuple[str, ...] = ()
    description: str = ""
    steps: tuple[tuple[Step, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Lists from JSON become tuples, so the record stays hashable and immutable.
        if not isinstance(self.paths, list | tuple) or not isinstance(self.targets, list | tuple):
            raise ValueError("paths and targets must be lists of strings")
        object.__setattr__(self, "paths", tuple(self.paths))
        object.__setattr__(self, "targets", tuple(self.targets))
        if not isinstance(self.resource, str) or not _RESOURCE.fullmatch(self.resource):
            raise ValueError(f"bad resource type {self.resource!r}")
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(f"bad parameter name {self.name!r}")
        if self.type not in TYPES:
            raise ValueError(f"unknown type {self.type!r} (known: {', '.join(sorted(TYPES))})")
        if not self.paths or not all(isinstance(p, str) for p in self.paths):
            raise ValueError("paths must be a non-empty list of strings")
        if self.targets and self.type != "reference":
            raise ValueError("only a reference parameter has targets")
        if not all(isinstance(t, str) and _RESOURCE.fullmatch(t) for t in self.targets):
            raise ValueError(f"bad targets {list(self.targets)!r}")
        object.__setattr__(self, "steps", tuple(parse_path(p) for p in self.paths))


class SearchRegistry:
    """Search parameters looked up by resource type and name (HAPI's ISearchParamRegistry).

    A resource type's own parameters come first; the common ``Resource`` ones (``_id``,
    ``_lastUpdated``, ...) apply to every type. A name may be defined once per resource type,
    and a type may not redefine a common name: a duplicate is an error, not an override.
    """

    def __init__(self, params: Iterable[SearchParam]) -> None:
        self._params: dict[tuple[str, str], SearchParam] = {}
        self._by_resource: dict[str, list[SearchParam]] = {}
        for param in params:
            key = (param.resource, param.name)
            if key in self._params:
                raise ValueError(f"duplicate search parameter {param.resource}.{param.name}")
            self._params[key] = param
            self._by_resource.setdefault(param.resource, []).append(param)
        for resource, name in self._params:
            if resource != COMMON and (COMMON, name) in self._params:
                raise ValueError(f"duplicate search parameter {resource}.{name}: a common name")
        self._for_resource: dict[str, tuple[SearchParam, ...]] = {}

    def get(self, resource_type: str, name: str) -> SearchParam | None:
        """The parameter ``name`` of ``resource_type``, else the common one, else None."""
        return self._params.get((resource_type, name)) or self._params.get((COMMON, name))

    def for_resource(self, resource_type: str) -> list[SearchParam]:
        """All parameters that apply to ``resource_type``: its own, then the common ones."""
        found = self._for_resource.get(resource_type)
        if found is None:
            own = self._by_resource.get(resource_type, []) if resource_type != COMMON else []
            found = (*own, *self._by_resource.get(COMMON, []))
            self._for_resource[resource_type] = found
        return list(found)

    def resource_types(self) -> list[str]:
        """The resource types that have parameters of their own, for a CapabilityStatement."""
        return sorted(r for r in self._by_resource if r != COMMON)

    def __iter__(self) -> Iterator[SearchParam]:
        return iter(self._params.values())

    def __len__(self) -> int:
        return len(self._params)


def param_from_entry(entry: dict[str, Any]) -> SearchParam:
    """One ``params.json`` entry as a SearchParam; the ``ValueError`` names the entry."""
    try:
        if not isinstance(entry, dict):
            raise ValueError("an entry must be an object")
        unknown = set(entry) - _ENTRY_KEYS
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}")
        missing = {"resource", "name", "type", "paths"} - set(entry)
        if missing:
            raise ValueError(f"missing keys {sorted(missing)}")
        return SearchParam(
            resource=entry["resource"],
            name=entry["name"],
            type=entry["type"],
            paths=entry["paths"],
            targets=entry.get("targets", ()),
            description=entry.get("description", ""),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"search parameter {entry!r}: {exc}") from None


def load_registry(extra: list[dict[str, Any]] | None = None) -> SearchRegistry:
    """The registry of ``params.json`` plus ``extra`` entries (tests, configuration).

    Every entry is validated: an unknown type, a bad path or a duplicate name raises
    ``ValueError`` naming the entry, so bad configuration stops the server at start-up.
    """
    text = resources.files(__package__).joinpath("params.json").read_bytes()
    entries = [*orjson.loads(text), *(extra or [])]
    params = [param_from_entry(entry) for entry in entries]
    try:
        return SearchRegistry(params)
    except ValueError as exc:
        raise ValueError(f"search parameters: {exc}") from None
