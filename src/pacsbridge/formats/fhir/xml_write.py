"""JSON -> FHIR XML (see xml.py for the rules): string building, the div kept verbatim."""

from __future__ import annotations

import math
import re
from decimal import Decimal

from lxml import etree

from ...errors import BadValue
from . import structure
from .xml_layout import FHIR_NS, XHTML_DIV, XHTML_NS, Layout, layout_of, safe_parser

_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

# characters to escape in attribute values, and those XML 1.0 cannot carry at all
_SPECIAL = re.compile('[&<>"\x00-\x1f\ud800-\udfff\ufffe\uffff]').search
_UNREPRESENTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]").search
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "\n": "&#10;",
        "\r": "&#13;",
        "\t": "&#9;",
    }
)


def to_xml(resource: dict, *, pretty: bool = False) -> bytes:
    """The FHIR XML of a JSON resource, UTF-8 with an XML declaration.

    Raises BadValue for content XML cannot carry or that the definitions do not know.
    """
    out = [_DECLARATION]
    if type(resource) is not dict:
        raise BadValue("A resource must be a JSON object")
    try:
        _write_resource(out, resource, "", 0 if pretty else -1, root=True)
    except RecursionError:
        raise BadValue("The content is nested too deeply") from None
    out.append("\n")
    return "".join(out).encode("utf-8")


def _pad(depth: int) -> str:
    return "\n" + "  " * depth if depth >= 0 else ""


def _deeper(depth: int) -> int:
    return depth + 1 if depth >= 0 else -1


def _write_resource(out: list[str], resource: object, path: str, depth: int, root: bool) -> None:
    if type(resource) is not dict:
        raise BadValue("A resource must be a JSON object", path or None)
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str or not structure.is_resource_type(resource_type):
        where = f"{path}.resourceType" if path else "resourceType"
        raise BadValue(f"Unknown resourceType {resource_type!r}", where)
    path = path or resource_type
    pad = _pad(depth)
    out.append(f'{pad}<{resource_type} xmlns="{FHIR_NS}">' if root else f"{pad}<{resource_type}>")
    _write_children(out, resource, layout_of(resource_type), path, _deeper(depth), resource=True)
    out.append(f"{pad}</{resource_type}>")


def _write_children(
    out: list[str], obj: dict, layout: Layout, path: str, depth: int, resource: bool = False
) -> bool:
    """Write the child elements of ``obj`` in definition order; False when there are none."""
    order = layout.order
    names = []
    for key in obj:
        if key in layout.attributes or (resource and key == "resourceType"):
            continue
        sibling = key[:1] == "_"  # a primitive's id/extension, written with its value
        name = key[1:] if sibling else key
        if name not in order or name in layout.attributes:
            raise BadValue(f"Unknown element '{key}'", f"{path}.{key}")
        if not sibling or name not in obj:
            names.append(name)
    if not names:
        return False
    names.sort(key=order.__getitem__)
    for name in names:
        element = layout.elements[name]
        value = obj.get(name)
        where = f"{path}.{name}"
        if element.primitive:
            extension = obj.get("_" + name)
            if element.type == "xhtml":
                out.append(_pad(depth) + _checked_div(value, where))
            elif element.is_list:
                values = _as_list(value, where)
                extensions = _as_list(extension, where)
                for index in range(max(len(values), len(extensions))):
                    item = values[index] if index < len(values) else None
                    item_extension = extensions[index] if index < len(extensions) else None
                    _write_primitive(out, name, item, item_extension, f"{where}[{index}]", depth)
            else:
                _write_primitive(out, name, value, extension, where, depth)
            continue
        if element.is_list:
            items = _as_list(value, where)
        elif type(value) is list:
            raise BadValue(f"'{name}' must not be an array", where)
        else:
            items = [value]
        for index, item in enumerate(items):
            item_path = f"{where}[{index}]" if element.is_list else where
            if element.type == "Resource":
                pad = _pad(depth)
                out.append(f"{pad}<{name}>")
                _write_resource(out, item, item_path, _deeper(depth), root=False)
                out.append(f"{pad}</{name}>")
            else:
                _write_complex(out, name, item, layout_of(element.type), item_path, depth)
    return True


def _as_list(value: object, where: str) -> list:
    if value is None:
        return []
    if type(value) is not list:
        raise BadValue("Expected an array", where)
    return value


def _write_complex(
    out: list[str], name: str, obj: object, layout: Layout, path: str, depth: int
) -> None:
    if type(obj) is not dict:
        raise BadValue(f"'{name}' must be a JSON object", path)
    head = f"{_pad(depth)}<{name}"
    for attribute in layout.attributes:  # id, and url for extensions
        value = obj.get(attribute)
        if value is not None:
            head += f' {attribute}="{_attribute(value, f"{path}.{attribute}")}"'
    out.append(head)
    mark = len(out)
    out.append(">")
    if _write_children(out, obj, layout, path, _deeper(depth)):
        out.append(f"{_pad(depth)}</{name}>")
    else:
        out[mark] = "/>"


def _write_primitive(
    out: list[str], name: str, value: object, extension: object, path: str, depth: int
) -> None:
    head = f"{_pad(depth)}<{name}"
    extensions = None
    if extension is not None:
        if type(extension) is not dict or not extension.keys() <= {"id", "extension"}:
            raise BadValue(f"'_{name}' may only hold id and extension", path)
        if extension.get("id") is not None:
            head += f' id="{_attribute(extension["id"], path + ".id")}"'
        extensions = _as_list(extension.get("extension"), path + ".extension")
    if value is not None:
        head += f' value="{_lexical(value, path)}"'
    elif not extensions:
        raise BadValue(f"'{name}' has neither a value nor extensions", path)
    if not extensions:
        out.append(head + "/>")
        return
    out.append(head + ">")
    extension_layout = layout_of("Extension")
    for index, item in enumerate(extensions):
        where = f"{path}.extension[{index}]"
        _write_complex(out, "extension", item, extension_layout, where, _deeper(depth))
    out.append(f"{_pad(depth)}</{name}>")


def _lexical(value: object, path: str) -> str:
    """The XML lexical form of a JSON primitive value."""
    kind = type(value)
    if kind is str:
        if not value:
            raise BadValue("A value must not be an empty string", path)
        return _attribute(value, path)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is Decimal:
        return str(value)
    if kind is float and math.isfinite(value):
        return repr(value)
    raise BadValue(f"Not a primitive value: {value!r:.60}", path)


def _attribute(text: object, path: str) -> str:
    if type(text) is not str:
        raise BadValue("Expected a string", path)
    if _SPECIAL(text) is None:
        return text
    if _UNREPRESENTABLE(text):
        raise BadValue("The text holds a character XML cannot represent", path)
    return text.translate(_ESCAPES)


def _checked_div(value: object, path: str) -> str:
    """The narrative div to insert verbatim, once it is known to be well-formed XHTML."""
    if type(value) is not str or not value.startswith("<div"):
        raise BadValue("The narrative must be a string holding a <div>", path)
    tag = _div_tag(value, path)
    if tag == "div":  # no namespace declared: declare XHTML as the default
        value = f'<div xmlns="{XHTML_NS}"{value[4:]}'
        tag = _div_tag(value, path)
    if tag != XHTML_DIV:
        raise BadValue("The narrative must be a <div> in the XHTML namespace", path)
    return value


def _div_tag(value: str, path: str) -> str:
    try:
        return etree.fromstring(value.encode("utf-8"), safe_parser()).tag
    except etree.XMLSyntaxError as exc:
        raise BadValue(f"The narrative is not well-formed XHTML: {exc.msg}", path) from None


__all__ = ["to_xml"]
