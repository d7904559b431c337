"""FHIR XML <-> FHIR JSON (as dicts), following http://hl7.org/fhir/R4/xml.html.

The two forms carry the same content; the XML rules that differ from JSON are:

- everything is in the namespace http://hl7.org/fhir and the root element is the resource
  type; a resource inside an element (contained, Bundle.entry.resource, ...) is wrapped in
  an element named for its type;
- elements come in definition order (taken from structure.py) and repeat for arrays;
- a primitive is ``<name value="..."/>``; its JSON ``_name`` sibling becomes an ``id``
  attribute and ``extension`` children, and for arrays both JSON arrays are aligned by
  index, nulls filling the gaps;
- Element.id and Extension.url are attributes, Resource.id is an ``<id value=""/>`` element;
- the narrative ``div`` is XHTML in its own namespace, copied verbatim;
- XML has no number or boolean types, so reading types them from the definitions.

Parsing refuses DOCTYPE declarations outright (lxml expands internal entities in attribute
values even with ``resolve_entities=False``), loads nothing from the network and keeps
libxml2's size limits. Element order is not enforced on reading.
"""

from __future__ import annotations

from .xml_layout import FHIR_NS, XHTML_NS
from .xml_read import from_xml
from .xml_write import to_xml

__all__ = ["FHIR_NS", "XHTML_NS", "from_xml", "to_xml"]
