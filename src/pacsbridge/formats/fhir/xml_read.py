"""FHIR XML -> JSON (see xml.py for the rules), parsing safely and typing values."""

from __future__ import annotations

import copy
import re

from lxml import etree

from ...errors import BadValue, Problems
from . import structure
from .primitives import parse_lexical
from .xml_layout import (
    FHIR_NS,
    FHIR_PREFIX,
    PRIMITIVE_CHILDREN,
    XHTML_DIV,
    Layout,
    layout_of,
    safe_parser,
)

_FHIR_LEN = len(FHIR_PREFIX)
_IGNORED_ATTRIBUTES = frozenset({"{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"})
_XML_DECLARATION = re.compile(r"\s*<\?xml[^>]*\?>")


def from_xml(data: bytes | str) -> dict:
    """The JSON form (a dict) of a FHIR XML resource.

    Raises BadValue for XML that is malformed, declares a DOCTYPE or has the wrong root,
    and InvalidContent naming every unknown element or bad value found.
    """
    if isinstance(data, str):
        # lxml refuses str input with an encoding declaration; the text is decoded already
        declaration = _XML_DECLARATION.match(data)
        data = (data[declaration.end() :] if declaration else data).encode("utf-8")
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise BadValue("XML with a DOCTYPE or entity declaration is refused")
    try:
        root = etree.fromstring(data, safe_parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise BadValue(f"Malformed XML: {exc.msg}", f"line {line}, column {column}") from None
    if root.getroottree().docinfo.doctype:
        raise BadValue("XML with a DOCTYPE or entity declaration is refused")
    tag = root.tag
    if not tag.startswith(FHIR_PREFIX):
        qname = etree.QName(root)
        raise BadValue(
            f"The root element must be in the namespace {FHIR_NS}, "
            f"not {qname.namespace or 'no namespace'}",
            qname.localname,
        )
    problems = Problems()
    resource = _read_resource(root, "", problems)
    problems.raise_if_any()
    assert resource is not None
    return resource


def _read_resource(element: etree._Element, path: str, problems: Problems) -> dict | None:
    resource_type = element.tag[_FHIR_LEN:]
    if not structure.is_resource_type(resource_type):
        problems.add(f"Unknown resource type '{resource_type}'", path or resource_type, "structure")
        return None
    path = path or resource_type
    _check_attributes(element, (), path, problems)
    resource: dict = {"resourceType": resource_type}
    _read_children(element, layout_of(resource_type), resource, path, problems)
    return resource


def _read_children(
    parent: etree._Element, layout: Layout, out: dict, path: str, problems: Problems
) -> None:
    """Read the child elements of ``parent`` into ``out``, the JSON object of its type."""
    if parent.text and not parent.text.isspace():
        problems.add("Text is not allowed here", path, "structure")
    lists: dict[str, list] = {}  # primitive arrays: name -> aligned _name array
    counts: dict[str, int] = {}
    for child in parent:
        if child.tail and not child.tail.isspace():
            problems.add("Text is not allowed here", path, "structure")
        tag = child.tag
        if type(tag) is not str:
            continue  # comment or processing instruction
        if not tag.startswith(FHIR_PREFIX):
            if tag == XHTML_DIV and "div" in layout.elements and "div" not in out:
                out["div"] = _div_text(child)
            else:
                local = etree.QName(child).localname
                problems.add(
                    f"Element '{local}' is not in the FHIR namespace",
                    f"{path}.{local}",
                    "structure",
                )
            continue
        name = tag[_FHIR_LEN:]
        element = layout.elements.get(name)
        if element is None or name in layout.attributes or element.type == "xhtml":
            problems.add(f"Unknown element '{name}'", f"{path}.{name}", "structure")
            continue
        if element.is_list:
            index = counts[name] = counts.get(name, -1) + 1
        else:
            index = None
            if name in out or "_" + name in out:
                problems.add(f"Element '{name}' must not repeat", f"{path}.{name}", "structure")
                continue
        if element.primitive:
            value, extension = _read_primitive(child, element, path, index, problems)
            if element.is_list:
                if name not in lists:
                    lists[name] = []
                    out[name] = []
                out[name].append(value)
                lists[name].append(extension)
            else:
                if value is not None:
                    out[name] = value
                if extension is not None:
                    out["_" + name] = extension
            continue
        where = _at(path, name, index)
        if element.type == "Resource":
            item = _read_wrapped(child, where, problems)
        else:
            item = _read_complex(child, layout_of(element.type), where, problems)
        if item is None:
            continue
        if element.is_list:
            out.setdefault(name, []).append(item)
        else:
            out[name] = item
    for name, extensions in lists.items():
        if all(value is None for value in out[name]):
            del out[name]
        if any(extension is not None for extension in extensions):
            out["_" + name] = extensions


def _read_primitive(
    child: etree._Element,
    element: structure.Element,
    parent_path: str,
    index: int | None,
    problems: Problems,
) -> tuple[object, dict | None]:
    """(JSON value, ``_name`` content) of a primitive element; its path is built on demand."""
    name = element.name
    text = element_id = None
    for attribute, content in child.items():
        if attribute == "value":
            text = content
        elif attribute == "id":
            element_id = content
        elif attribute not in _IGNORED_ATTRIBUTES:
            where = _at(parent_path, name, index)
            problems.add(f"Unknown attribute '{attribute}'", where, "structure")
    extension: dict | None = None
    if element_id is not None:
        extension = {"id": element_id}
    if len(child) or child.text:
        inner: dict = {}
        _read_children(child, PRIMITIVE_CHILDREN, inner, _at(parent_path, name, index), problems)
        if inner:
            extension = extension or {}
            extension.update(inner)
    if text:
        try:
            return parse_lexical(element.type, text), extension
        except ValueError as exc:
            problem = f"'{name}' {exc}"
    elif text is not None:
        problem = f"'{name}' has an empty value attribute"
    elif extension is None:
        problem = f"'{name}' has neither a value nor extensions"
    else:
        return None, extension
    problems.add(problem, _at(parent_path, name, index), "value")
    return None, extension


def _at(parent_path: str, name: str, index: int | None) -> str:
    return f"{parent_path}.{name}" if index is None else f"{parent_path}.{name}[{index}]"


def _read_complex(
    child: etree._Element, layout: Layout, path: str, problems: Problems
) -> dict | None:
    obj: dict = {}
    if child.attrib:
        _check_attributes(child, layout.attributes, path, problems)
        for name in layout.attributes:
            value = child.get(name)
            if value:
                obj[name] = value
            elif value is not None:
                problems.add(f"The attribute '{name}' must not be empty", path, "value")
    _read_children(child, layout, obj, path, problems)
    if not obj:
        problems.add("An element must have a value or children (ele-1)", path, "invariant")
        return None
    return obj


def _read_wrapped(child: etree._Element, path: str, problems: Problems) -> dict | None:
    """A resource inside an element: exactly one child element named for its type."""
    _check_attributes(child, (), path, problems)
    if child.text and not child.text.isspace():
        problems.add("Text is not allowed here", path, "structure")
    inner = [c for c in child if type(c.tag) is str]
    if len(inner) != 1 or not inner[0].tag.startswith(FHIR_PREFIX):
        problems.add("Expected exactly one FHIR resource here", path, "structure")
        return None
    if inner[0].tail and not inner[0].tail.isspace():
        problems.add("Text is not allowed here", path, "structure")
    return _read_resource(inner[0], path, problems)


def _check_attributes(
    element: etree._Element, allowed: tuple[str, ...], path: str, problems: Problems
) -> None:
    for name in element.attrib:
        if name not in allowed and name not in _IGNORED_ATTRIBUTES:
            problems.add(f"Unknown attribute '{name}'", path, "structure")


def _div_text(div: etree._Element) -> str:
    """The div as a string, declaring only the namespaces it uses."""
    if len(div.nsmap) > 1:
        div = copy.deepcopy(div)
        etree.cleanup_namespaces(div)
    return etree.tostring(div, encoding="unicode", with_tail=False)


__all__ = ["from_xml"]
