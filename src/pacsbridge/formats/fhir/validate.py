"""Structural validation of FHIR R4 JSON resources against the base definitions.

What is checked, and where the rule comes from:

- the JSON form (http://hl7.org/fhir/R4/json.html): an object with a known ``resourceType``;
  no unknown properties; arrays exactly for repeating elements; no null, empty object,
  empty array or empty string; ``_name`` siblings of primitives holding only id/extension
  and, for repeating primitives, aligned with the value array (nulls filling either side);
- cardinality (min >= 1) and one alternative at most per choice element ``name[x]``;
- the primitive value rules (http://hl7.org/fhir/R4/datatypes.html, see primitives.py);
- the codes of required bindings (http://hl7.org/fhir/R4/terminologies.html#required);
- literal references (http://hl7.org/fhir/R4/references.html#literal): well formed, and of
  a resource type the element allows;
- invariants ele-1 (an element has a value or children), ext-1 (an extension has a value
  or extensions, not both) and dom-2 (a contained resource contains no resources).

Not checked: other invariants (FHIRPath constraints), bindings that are not required,
profiles, and whether references resolve. Issue codes: "structure" for the shape of the
JSON, "required", "value" for bad primitives and references, "code-invalid" for codes
outside a required binding, "invariant" for the invariants above, "not-supported" for a
valid resource type the caller does not accept.

The walk uses per-type lookup tables built once from structure.py, and builds the FHIRPath
of an element only when it reports an issue there.
"""

from __future__ import annotations

import re

from ...errors import Problems
from . import structure
from .primitives import CHECKS, Check

_PRIMITIVE, _COMPLEX, _RESOURCE = 0, 1, 2

# http://hl7.org/fhir/R4/references.html#literal
_RELATIVE = re.compile(
    r"([A-Z][A-Za-z]*)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
).fullmatch
_CONDITIONAL = re.compile(r"([A-Z][A-Za-z]*)\?[^\s]+").fullmatch  # in transactions
_ABSOLUTE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+").fullmatch
_RESTFUL_TAIL = re.compile(
    r".*/([A-Z][A-Za-z]*)/[A-Za-z0-9\-.]{1,64}(/_history/[A-Za-z0-9\-.]{1,64})?"
).fullmatch
_LOCAL = re.compile(r"#([A-Za-z0-9\-.]{1,64})?").fullmatch
_UUID_URN = re.compile(
    r"urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
).fullmatch
_OID_URN = re.compile(r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+").fullmatch


class _Slot:
    """What the walk needs to know about one JSON property of one type."""

    __slots__ = (
        "allowed",
        "check",
        "choice",
        "codes",
        "kind",
        "is_list",
        "name",
        "targets",
        "type",
    )

    def __init__(self, element: structure.Element) -> None:
        self.name = element.name
        self.type = element.type
        self.is_list = element.is_list
        self.choice = element.choice
        if element.primitive:
            self.kind = _PRIMITIVE
        elif element.type == "Resource":
            self.kind = _RESOURCE
        else:
            self.kind = _COMPLEX
        self.check: Check | None = CHECKS.get(element.type)
        self.codes = frozenset(element.codes) if element.codes else None
        short = element.codes and len(element.codes) <= 12
        self.allowed = ", ".join(element.codes) if short else None  # for the issue text
        targets = element.targets
        any_target = not targets or "Resource" in targets or element.type != "Reference"
        self.targets = None if any_target else frozenset(targets)


class _Table:
    """The slots of one type, its required elements and its choice groups."""

    __slots__ = ("choices", "extendable", "is_extension", "name", "required", "slots")

    def __init__(self, definition: structure.TypeDefinition) -> None:
        self.name = definition.name
        self.slots = {name: _Slot(e) for name, e in definition.elements.items()}
        # primitives that may carry a _name sibling (not Element.id or Extension.url)
        self.extendable = frozenset(
            name
            for name, e in definition.elements.items()
            if e.primitive and not structure.is_attribute(definition, name)
        )
        choices = definition.choices
        # (name for the issue, JSON names any of which satisfies it); a required choice once
        self.required = tuple(
            (e.choice + "[x]", choices[e.choice]) if e.choice else (e.name, (e.name,))
            for e in definition.elements.values()
            if e.required and (not e.choice or e.name == choices[e.choice][0])
        )
        self.choices = {e.name: e.choice for e in definition.elements.values() if e.choice}
        self.is_extension = definition.name == "Extension"


_PRIMITIVE_EXTENSION = _Table(structure.PRIMITIVE_EXTENSION)

_tables: dict[str, _Table] = {}


def _table(type_name: str) -> _Table:
    table = _tables.get(type_name)
    if table is None:
        table = _tables[type_name] = _Table(structure.type_definition(type_name))
    return table


def validate(resource: object, *, resource_types: frozenset[str] | None = None) -> None:
    """Raise InvalidContent naming every way ``resource`` breaks the R4 definitions.

    ``resource_types``, when given, is the set of types the caller accepts for the
    resource itself (not for contained or bundled ones); others are reported with the
    code "not-supported".
    """
    problems = Problems()
    try:
        _resource(resource, "", problems, contained=False, accepted=resource_types)
    except RecursionError:  # hostile input: real resources nest a few dozen levels at most
        problems.add("The content is nested too deeply", None, "too-costly")
    problems.raise_if_any()


def _resource(
    value: object,
    path: str,
    problems: Problems,
    *,
    contained: bool,
    accepted: frozenset[str] | None = None,
) -> None:
    if type(value) is not dict:
        problems.add("A resource must be a JSON object", path or None, "structure")
        return
    resource_type = value.get("resourceType")
    where = f"{path}.resourceType" if path else "resourceType"
    if resource_type is None:
        problems.add("The resource has no resourceType", where, "required")
        return
    if type(resource_type) is not str or not structure.is_resource_type(resource_type):
        problems.add(f"Unknown resourceType {resource_type!r}", where, "structure")
        return
    if accepted is not None and resource_type not in accepted:
        problems.add(f"Resources of type {resource_type} are not supported", where, "not-supported")
        return
    path = path or resource_type
    if contained and "contained" in value:
        problems.add("A contained resource must not contain resources (dom-2)", path, "invariant")
    _walk(value, _table(resource_type), path, problems, is_resource=True)


def _walk(
    obj: dict, table: _Table, path: str, problems: Problems, *, is_resource: bool = False
) -> None:
    """Check the properties of one JSON object of the type ``table`` describes."""
    slots = table.slots
    for key, value in obj.items():
        slot = slots.get(key)
        if slot is None:
            if key[:1] == "_" and key[1:] in table.extendable:
                _primitive_extension(obj, key, value, slots[key[1:]], path, problems)
            elif not (key == "resourceType" and is_resource):
                problems.add(f"Unknown element '{key}'", f"{path}.{key}", "structure")
            continue
        if value is None:
            problems.add(f"'{key}' must not be null", f"{path}.{key}", "structure")
            continue
        if slot.is_list:
            if type(value) is not list:
                problems.add(f"'{key}' must be an array", f"{path}.{key}", "structure")
                continue
            if not value:
                problems.add(f"'{key}' must not be an empty array", f"{path}.{key}", "structure")
                continue
            if slot.kind == _PRIMITIVE:
                extensions = obj.get("_" + key)
                for index, item in enumerate(value):
                    if item is None:
                        if not _has_extension_at(extensions, index):
                            problems.add(
                                f"'{key}' must not contain null without a matching '_{key}'",
                                f"{path}.{key}[{index}]",
                                "structure",
                            )
                    else:
                        _primitive(slot, item, path, key, index, problems)
            else:
                for index, item in enumerate(value):
                    _item(slot, item, f"{path}.{key}[{index}]", problems)
        elif type(value) is list:
            problems.add(f"'{key}' must not be an array", f"{path}.{key}", "structure")
        elif slot.kind == _PRIMITIVE:
            _primitive(slot, value, path, key, None, problems)
        else:
            _item(slot, value, f"{path}.{key}", problems)

    for name, alternatives in table.required:
        if not any(n in obj or "_" + n in obj for n in alternatives):
            problems.add(f"Missing required element '{name}'", f"{path}.{name}", "required")
    if table.choices:
        _choices(obj, table, path, problems)
    if table.is_extension:
        has_value = any((k[1:] if k[:1] == "_" else k) in table.choices for k in obj)
        if has_value == ("extension" in obj):
            problems.add(
                "An extension must have either a value or extensions, not both (ext-1)",
                path,
                "invariant",
            )


def _item(slot: _Slot, value: object, path: str, problems: Problems) -> None:
    """One complex or resource value (an object in JSON)."""
    if slot.kind == _RESOURCE:
        _resource(value, path, problems, contained=slot.name == "contained")
        return
    if type(value) is not dict:
        problems.add(f"Expected a JSON object ({slot.type})", path, "structure")
        return
    if not value:
        problems.add("An element must not be an empty object", path, "structure")
        return
    if len(value) == 1 and "id" in value:
        problems.add("An element must have a value or children (ele-1)", path, "invariant")
    _walk(value, _table(slot.type), path, problems)
    if slot.type == "Reference":
        reference = value.get("reference")
        if type(reference) is str and reference:
            _reference(reference, slot.targets, f"{path}.reference", problems)


def _primitive(
    slot: _Slot, value: object, path: str, key: str, index: int | None, problems: Problems
) -> None:
    problem = slot.check(value)
    if problem is None:
        if slot.codes is None or value in slot.codes:
            return
        problem = f"'{value}' is not a valid code for '{key}'"
        if slot.allowed:
            problem += f" (one of: {slot.allowed})"
        code = "code-invalid"
    else:
        problem = f"'{key}' {problem}"
        code = "value"
    where = f"{path}.{key}" if index is None else f"{path}.{key}[{index}]"
    problems.add(problem, where, code)


def _has_extension_at(extensions: object, index: int) -> bool:
    return type(extensions) is list and index < len(extensions) and extensions[index] is not None


def _primitive_extension(
    obj: dict, key: str, value: object, slot: _Slot, path: str, problems: Problems
) -> None:
    """A ``_name`` sibling: id/extension of a primitive, or an array of them aligned."""
    name = key[1:]
    where = f"{path}.{name}"
    if not slot.is_list:
        if type(value) is list:
            problems.add(f"'{key}' must not be an array", where, "structure")
        else:
            _extension_object(value, key, where, problems)
        return
    if type(value) is not list:
        problems.add(f"'{key}' must be an array", where, "structure")
        return
    values = obj.get(name)
    if type(values) is list and len(values) != len(value):
        problems.add(f"'{key}' must have as many items as '{name}'", where, "structure")
    for index, item in enumerate(value):
        if item is not None:
            _extension_object(item, key, f"{where}[{index}]", problems)
        elif type(values) is not list or index >= len(values):
            problems.add(f"'{key}' has null where '{name}' has no value", where, "structure")


def _extension_object(value: object, key: str, where: str, problems: Problems) -> None:
    if type(value) is not dict:
        problems.add(f"'{key}' must hold JSON objects", where, "structure")
    elif not value:
        problems.add(f"'{key}' must not be an empty object", where, "structure")
    else:
        _walk(value, _PRIMITIVE_EXTENSION, where, problems)


def _choices(obj: dict, table: _Table, path: str, problems: Problems) -> None:
    seen: dict[str, str] = {}
    for key in obj:
        group = table.choices.get(key)
        if group is None:
            continue
        if group in seen:
            problems.add(
                f"Only one of {group}[x] is allowed, found '{seen[group]}' and '{key}'",
                f"{path}.{key}",
                "structure",
            )
        else:
            seen[group] = key


def _reference(
    reference: str, targets: frozenset[str] | None, path: str, problems: Problems
) -> None:
    """Reference.reference: relative ``Type/id``, absolute URL, ``#id`` or a URN."""
    if reference[0] == "#":
        if _LOCAL(reference) is None:
            problems.add(f"Malformed local reference '{reference}'", path, "value")
        return
    if reference.startswith("urn:"):
        if _UUID_URN(reference) is None and _OID_URN(reference) is None:
            problems.add(f"Malformed URN reference '{reference}'", path, "value")
        return
    match = _RELATIVE(reference) or _CONDITIONAL(reference)
    if match is None:
        if _ABSOLUTE(reference) is None:
            problems.add(f"Malformed reference '{reference}'", path, "value")
            return
        match = _RESTFUL_TAIL(reference)
        if match is None or not structure.is_resource_type(match.group(1)):
            return  # an absolute URL that is not a RESTful FHIR address: nothing to check
    resource_type = match.group(1)
    if not structure.is_resource_type(resource_type):
        problems.add(f"Unknown resource type in reference '{reference}'", path, "value")
    elif targets is not None and resource_type not in targets:
        allowed = ", ".join(sorted(targets))
        problems.add(
            f"A reference to {resource_type} is not allowed here ({allowed})", path, "value"
        )


__all__ = ["validate"]
