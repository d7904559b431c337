"""``_summary`` and ``_elements``: a resource cut down to what the client asked for.

R4 3.1.1.5.9-10: a cut-down resource is marked with the SUBSETTED tag so that nobody
mistakes it for the whole resource and writes it back.
"""

from __future__ import annotations

from typing import Any

from pacsbridge.errors import BadValue
from pacsbridge.formats.fhir.structure import type_definition

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
    "display": "Resource encoded in summary mode",
}
_ALWAYS = ("resourceType", "id", "meta")


def shape(
    resource: dict[str, Any], summary: str | None, elements: list[str] | None
) -> dict[str, Any]:
    """The resource as ``_summary``/``_elements`` ask; unchanged for ``false`` or nothing."""
    if summary in (None, "false") and not elements:
        return resource
    definition = type_definition(resource["resourceType"]).elements
    if summary == "true":
        keep = {n for n in resource if _base(n) in definition and definition[_base(n)].summary}
    elif summary == "text":
        keep = {"text"} | {n for n in resource if _base(n) in definition and
                           definition[_base(n)].required}  # fmt: skip
    elif summary == "data":
        keep = {n for n in resource if n != "text"}
    elif elements:
        wanted = {e.strip() for e in elements}
        keep = {n for n in resource if _base(n) in wanted}
        keep |= {n for n in resource if _base(n) in definition and definition[_base(n)].required}
    else:
        raise BadValue(f"_summary={summary} is not supported here", "_summary")
    cut = {k: v for k, v in resource.items() if k in keep or k in _ALWAYS}
    meta = dict(cut.get("meta") or {})
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    cut["meta"] = meta
    return cut


def _base(name: str) -> str:
    """``_birthDate`` (a primitive's extensions) follows ``birthDate``."""
    return name[1:] if name.startswith("_") else name
