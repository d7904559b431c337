"""What the FHIR XML codec shares: namespaces, the per-type layout and the safe parser."""

from __future__ import annotations

import functools
import threading

from lxml import etree

from . import structure

FHIR_NS = "http://hl7.org/fhir"
XHTML_NS = "http://www.w3.org/1999/xhtml"
FHIR_PREFIX = "{" + FHIR_NS + "}"
XHTML_DIV = "{" + XHTML_NS + "}div"


class Layout:
    """One type as the codec needs it: elements, their order, and which are attributes."""

    __slots__ = ("attributes", "elements", "order")

    def __init__(self, definition: structure.TypeDefinition) -> None:
        self.elements = dict(definition.elements)  # a plain dict is faster to query
        self.order = {name: index for index, name in enumerate(definition.elements)}
        # in definition order, so id comes before url and the output is stable
        self.attributes = tuple(
            name for name in definition.elements if structure.is_attribute(definition, name)
        )


@functools.cache
def layout_of(type_name: str) -> Layout:
    return Layout(structure.type_definition(type_name))


# the id attribute and extension children of a primitive element
PRIMITIVE_CHILDREN = Layout(structure.PRIMITIVE_EXTENSION)

_local = threading.local()


def safe_parser() -> etree.XMLParser:
    # lxml parsers must not be shared between threads
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
    return parser


__all__ = [
    "FHIR_NS",
    "FHIR_PREFIX",
    "PRIMITIVE_CHILDREN",
    "XHTML_DIV",
    "XHTML_NS",
    "Layout",
    "layout_of",
    "safe_parser",
]
