"""The FHIR R4 structure table: which elements each type has, in which order, of which type.

The validator and the XML codec both need the definitions of every resource and datatype:
element names, order, cardinality, type, choice groups, required bindings and reference
targets. Rather than shipping a copy of the StructureDefinitions we derive the table once,
lazily, by introspecting the pydantic models of ``fhir.resources.R4B``, which the generator
built from the official definitions.

R4B (4.3.0) is used because fhir.resources 8 no longer ships R4 (4.0.1) models. For the
resources we serve (Patient, ServiceRequest, Appointment, ImagingStudy, DiagnosticReport,
Endpoint, Procedure, Practitioner, Organization) and for Bundle, OperationOutcome,
CapabilityStatement and Parameters the R4B definitions equal R4's. R4B differs in resources
we do not serve (the medication-definition and evidence families, SubscriptionTopic, ...), so
``resource_types()`` lists R4B's set, and in the open types: Extension.value[x] here offers
CodeableReference and RatioRange (R4B only) but not Meta (allowed in R4).

A few required bindings are fixed by hand (``_CODE_OVERRIDES``): the generator truncated
hierarchical code systems with a ``"+"`` (e.g. DiagnosticReport.status), produced junk for
bindings to MIME types, and left out OperationOutcome.issue.code and Quantity.comparator.
"""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass

from fhir_core.types import FhirBase

# http://hl7.org/fhir/R4/datatypes.html#primitive (integer64 arrived in R5)
PRIMITIVE_TYPES: frozenset[str] = frozenset(
    {
        "base64Binary",
        "boolean",
        "canonical",
        "code",
        "date",
        "dateTime",
        "decimal",
        "id",
        "instant",
        "integer",
        "markdown",
        "oid",
        "positiveInt",
        "string",
        "time",
        "unsignedInt",
        "uri",
        "url",
        "uuid",
        "xhtml",
    }
)

# Abstract bases: never the value of ``resourceType``.
_ABSTRACT = frozenset({"Resource", "DomainResource"})

_OBSERVATION_STATUS = (
    "registered",
    "preliminary",
    "final",
    "amended",
    "corrected",
    "cancelled",
    "entered-in-error",
    "unknown",
)
_ENCOUNTER_STATUS = (
    "planned",
    "arrived",
    "triaged",
    "in-progress",
    "onleave",
    "finished",
    "cancelled",
    "entered-in-error",
    "unknown",
)
_QUANTITY_COMPARATOR = ("<", "<=", ">=", ">")

# (type, element) -> codes of the required binding; None: not checkable (no enumeration).
_CODE_OVERRIDES: dict[tuple[str, str], tuple[str, ...] | None] = {
    # http://hl7.org/fhir/R4/valueset-diagnostic-report-status.html
    ("DiagnosticReport", "status"): (
        "registered",
        "partial",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "appended",
        "cancelled",
        "entered-in-error",
        "unknown",
    ),
    # http://hl7.org/fhir/R4/valueset-observation-status.html
    ("Observation", "status"): _OBSERVATION_STATUS,
    ("DetectedIssue", "status"): _OBSERVATION_STATUS,
    ("RiskAssessment", "status"): _OBSERVATION_STATUS,
    # http://hl7.org/fhir/R4/valueset-encounter-status.html
    ("Encounter", "status"): _ENCOUNTER_STATUS,
    ("EncounterStatusHistory", "status"): _ENCOUNTER_STATUS,
    # http://hl7.org/fhir/R4/valueset-task-status.html
    ("Task", "status"): (
        "draft",
        "requested",
        "received",
        "accepted",
        "rejected",
        "ready",
        "cancelled",
        "in-progress",
        "on-hold",
        "failed",
        "completed",
        "entered-in-error",
    ),
    # http://hl7.org/fhir/R4/valueset-issue-type.html (all levels of the hierarchy)
    ("OperationOutcomeIssue", "code"): (
        "invalid",
        "structure",
        "required",
        "value",
        "invariant",
        "security",
        "login",
        "unknown",
        "expired",
        "forbidden",
        "suppressed",
        "processing",
        "not-supported",
        "duplicate",
        "multiple-matches",
        "not-found",
        "deleted",
        "too-long",
        "code-invalid",
        "extension",
        "too-costly",
        "business-rule",
        "conflict",
        "transient",
        "lock-error",
        "no-store",
        "exception",
        "timeout",
        "incomplete",
        "throttled",
        "informational",
    ),
    # http://hl7.org/fhir/R4/valueset-quantity-comparator.html
    ("Quantity", "comparator"): _QUANTITY_COMPARATOR,
    ("Age", "comparator"): _QUANTITY_COMPARATOR,
    ("Count", "comparator"): _QUANTITY_COMPARATOR,
    ("Distance", "comparator"): _QUANTITY_COMPARATOR,
    ("Duration", "comparator"): _QUANTITY_COMPARATOR,
    # bound to BCP-13 MIME types / an extensible set: no enumeration to check against
    ("CapabilityStatement", "format"): None,
    ("Expression", "language"): None,
}


@dataclass(frozen=True, slots=True)
class Element:
    """One element of a type, as its JSON name (a choice alternative is its own Element).

    ``required`` means min >= 1; for a choice alternative it means the *group* is required.
    ``codes`` is set for required bindings only; ``targets`` lists the allowed target
    resource types of a Reference (or canonical), ``("Resource",)`` meaning any.
    """

    name: str
    type: str
    is_list: bool
    required: bool
    summary: bool
    choice: str | None
    codes: tuple[str, ...] | None
    targets: tuple[str, ...] | None
    primitive: bool


@dataclass(frozen=True, slots=True)
class TypeDefinition:
    """A resource, datatype or backbone type with its elements in definition order."""

    name: str
    kind: str  # "resource" | "datatype" | "backbone"
    elements: Mapping[str, Element]

    @property
    def choices(self) -> dict[str, tuple[str, ...]]:
        """Choice group name -> the JSON names of its alternatives."""
        groups: dict[str, list[str]] = {}
        for element in self.elements.values():
            if element.choice:
                groups.setdefault(element.choice, []).append(element.name)
        return {group: tuple(names) for group, names in groups.items()}


# What a primitive carries besides its value: the content of a JSON ``_name`` sibling and
# the id attribute and extension children in XML. http://hl7.org/fhir/R4/json.html#primitive
PRIMITIVE_EXTENSION = TypeDefinition(
    "PrimitiveExtension",
    "datatype",
    types.MappingProxyType(
        {
            "id": Element("id", "string", False, False, False, None, None, None, True),
            "extension": Element(
                "extension", "Extension", True, False, False, None, None, None, False
            ),
        }
    ),
)


def type_definition(type_name: str) -> TypeDefinition:
    """The definition of a resource, datatype or backbone type, e.g. ``"ImagingStudySeries"``.

    Raises KeyError for names that are not FHIR complex types (primitives have no table).
    """
    if type_name not in _model_names():
        raise KeyError(type_name)
    return _definition(type_name)


def is_resource_type(name: str) -> bool:
    """True for a concrete R4B resource type name such as ``"Patient"``."""
    # Only candidates reach the cached lookup, so arbitrary input cannot grow the cache.
    return name in _resource_candidates() and _is_concrete_resource(name)


def is_attribute(definition: TypeDefinition, element_name: str) -> bool:
    """True for the two elements that are XML attributes rather than child elements.

    Element.id and Extension.url are represented as attributes in XML and are plain
    strings without id/extension of their own in JSON (no ``_id``/``_url`` sibling);
    Resource.id is an ordinary ``id`` element. http://hl7.org/fhir/R4/xml.html#1.17.1
    """
    if element_name == "id":
        return definition.kind != "resource"
    return element_name == "url" and definition.name == "Extension"


@functools.cache
def resource_types() -> frozenset[str]:
    """Every concrete resource type (imports all model modules once: about a second)."""
    return frozenset(n for n in _resource_candidates() if _is_concrete_resource(n))


# --- derivation ---


@functools.cache
def _model_names() -> dict[str, str]:
    """Type name -> dotted path of its model class, read without importing the models."""
    from fhir.resources.R4B import fhirtypes

    names: dict[str, str] = {}
    for attr, value in vars(fhirtypes).items():
        if attr.endswith("Type") and isinstance(value, type) and issubclass(value, FhirBase):
            path = value._model_klass
            name = path.rsplit(".", 1)[1]
            if name != "FHIRPrimitiveExtension":
                names[name] = path
    return names


@functools.cache
def _resource_candidates() -> frozenset[str]:
    # Resources and datatypes live in a module named after them (patient.Patient);
    # backbone types share their resource's module.
    return frozenset(
        name
        for name, path in _model_names().items()
        if path.rsplit(".", 2)[1] == name.lower() and name not in _ABSTRACT
    )


@functools.cache
def _is_concrete_resource(name: str) -> bool:
    return _model_class(name).has_resource_base()


def _model_class(name: str) -> typing.Any:
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(name)


@functools.cache
def _definition(type_name: str) -> TypeDefinition:
    model = _model_class(type_name)
    if model.has_resource_base():
        kind = "resource"
    elif model.__module__.rsplit(".", 1)[1] == type_name.lower():
        kind = "datatype"
    else:
        kind = "backbone"
    fields = {
        field.alias or name: field
        for name, field in model.model_fields.items()
        if (field.json_schema_extra or {}).get("element_property")
    }
    elements: dict[str, Element] = {}
    for json_name in model.elements_sequence():
        field = fields[json_name]
        extra = field.json_schema_extra or {}
        fhir_type, is_list = _fhir_type(field.annotation)
        if (type_name, json_name) in _CODE_OVERRIDES:
            codes = _CODE_OVERRIDES[type_name, json_name]
        else:
            enum = extra.get("enum_values")
            # a trailing "+" marks a list the generator truncated: unusable
            codes = tuple(enum) if enum and "+" not in enum else None
        targets = extra.get("enum_reference_types")
        elements[json_name] = Element(
            name=json_name,
            type=fhir_type,
            is_list=is_list,
            required=bool(
                field.is_required()
                or extra.get("element_required")
                or extra.get("one_of_many_required")
            ),
            summary=bool(extra.get("summary_element_property")),
            choice=extra.get("one_of_many"),
            codes=codes,
            targets=tuple(targets) if targets else None,
            primitive=fhir_type in PRIMITIVE_TYPES,
        )
    return TypeDefinition(type_name, kind, types.MappingProxyType(elements))


def _fhir_type(annotation: typing.Any) -> tuple[str, bool]:
    """(FHIR type code, is_list) of a model field annotation.

    Annotations look like ``Optional[List[Optional[Annotated[str, Code()]]]]``; the
    ``Annotated`` metadata of fhir_core carry the FHIR primitive name as ``__visit_name__``,
    complex types are FhirBase subclasses naming their model class.
    """
    is_list = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Union or origin is types.UnionType:
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                raise TypeError(f"unexpected union {annotation!r}")
            annotation = args[0]
        elif origin is list:
            is_list = True
            annotation = typing.get_args(annotation)[0]
        else:
            break
    if typing.get_origin(annotation) is typing.Annotated:
        for meta in annotation.__metadata__:
            visit = getattr(meta, "__visit_name__", None)
            if visit:
                return visit, is_list
        if any(type(m).__name__ == "UuidVersion" for m in annotation.__metadata__):
            return "uuid", is_list
        raise TypeError(f"no FHIR type in {annotation!r}")
    if annotation is bool:
        return "boolean", is_list
    if isinstance(annotation, type) and issubclass(annotation, FhirBase):
        return annotation._model_klass.rsplit(".", 1)[1], is_list
    raise TypeError(f"unexpected annotation {annotation!r}")


__all__ = [
    "PRIMITIVE_EXTENSION",
    "PRIMITIVE_TYPES",
    "Element",
    "TypeDefinition",
    "is_attribute",
    "is_resource_type",
    "resource_types",
    "type_definition",
]
