"""FHIR R4 codecs: the structure table, validation of JSON resources, and FHIR XML."""

from __future__ import annotations

from .structure import (
    PRIMITIVE_TYPES,
    Element,
    TypeDefinition,
    is_resource_type,
    resource_types,
    type_definition,
)
from .validate import validate
from .xml import from_xml, to_xml

__all__ = [
    "PRIMITIVE_TYPES",
    "Element",
    "TypeDefinition",
    "from_xml",
    "is_resource_type",
    "resource_types",
    "to_xml",
    "type_definition",
    "validate",
]
