"""DICOM JSON (PS3.18 Annex F) straight from the raw elements pydicom read, quickly.

Every stored instance gets its DICOM JSON at receipt (QIDO and WADO metadata serve it).
pydicom's ``Dataset.to_json_dict`` turns each element into a full ``DataElement`` first
and costs 5-7 ms for a CT header of 250 elements, the largest cost of a C-STORE. Here the
common elements (explicit VR, text in one single-byte or UTF-8 character set, numbers,
binary) are converted from their bytes directly; anything else (implicit VR, ISO 2022
character sets, ambiguous VRs, empty values inside multi-valued text) goes through
pydicom for that element, so the result is pydicom's, which the tests check element by
element on pydicom's own test files.
"""

from __future__ import annotations

import base64
import codecs
import struct
from collections.abc import Callable
from typing import Any

from pydicom.charset import convert_encodings
from pydicom.dataelem import DataElement, RawDataElement
from pydicom.dataset import Dataset

Handler = Callable[[DataElement], str]

_STRIP_BOTH = {"AE", "CS", "DS", "IS", "DA", "DT", "TM"}
_SINGLE_VALUED = {"LT", "ST", "UT", "UR"}
_CHARSET_VR = {"SH", "LO", "ST", "PN", "LT", "UC", "UT"}
_TEXT = _STRIP_BOTH | _SINGLE_VALUED | _CHARSET_VR | {"UI", "AS"}
_NUMBERS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d", "UV": "Q",
            "SV": "q"}  # fmt: skip
_ONE_NUMBER = {vr: struct.Struct("<" + code) for vr, code in _NUMBERS.items()}
_BINARY = {"OB", "OD", "OF", "OL", "OV", "OW"}
_SIMPLE_CODECS = {"iso8859", "latin_1", "utf_8", "ascii", "iso_ir_6"}


def dataset_to_json(dataset: Dataset, bulk_threshold: int, bulk_handler: Handler,
                    inherited: str | None = "iso8859") -> dict:  # fmt: skip
    """The DICOM JSON object of ``dataset``, as ``to_json_dict(threshold, handler)`` gives.

    ``inherited``: the codec of the enclosing dataset (items of a sequence use their
    parent's Specific Character Set unless they have their own).
    """
    codec = _codec(dataset) if 0x00080005 in dataset._dict else inherited
    out: dict[str, Any] = {}
    for tag, element in sorted(dataset._dict.items()):
        key = f"{int(tag):08X}"
        converted = None
        if isinstance(element, RawDataElement) and element.VR is not None:
            converted = _raw(element, codec, bulk_threshold, bulk_handler)
        if converted is None:
            converted = _by_pydicom(dataset, tag, bulk_threshold, bulk_handler, codec)
        out[key] = converted
    return out


def _codec(dataset: Dataset) -> str | None:
    raw = dataset._dict[0x00080005]
    value = (
        raw.value if not isinstance(raw, RawDataElement) else raw.value.decode("ascii", "replace")
    )
    return charset_codec(value if isinstance(value, list) else str(value).split("\\"))


def charset_codec(terms: list[str]) -> str | None:
    """One Python codec for all text, or None when pydicom must decode (ISO 2022 ...)."""
    terms = [t.strip() for t in terms]
    terms = [t for t in terms if t] or ["ISO_IR 6"]
    if len(terms) != 1:
        return None
    encodings = convert_encodings(terms)
    codec = codecs.lookup(encodings[0]).name.replace("-", "_")  # UTF8 -> utf_8
    return encodings[0] if any(codec.startswith(c) for c in _SIMPLE_CODECS) else None


def _raw(raw: RawDataElement, codec: str | None, threshold: int,
         handler: Handler) -> dict[str, Any] | None:  # fmt: skip
    vr, value = str(raw.VR), raw.value
    if value is None or vr in ("SQ", "UN"):  # UN: pydicom may know the VR (config)
        return None
    if vr in _BINARY and len(value) > (threshold // 4) * 3:
        return None  # the handler expects a DataElement: pydicom makes it
    return element_json(vr, value, codec, raw.is_little_endian)


def element_json(vr: str, value: bytes, codec: str | None,
                 little_endian: bool = True) -> dict[str, Any] | None:  # fmt: skip
    """One element's JSON from its bytes (not SQ or UN), or None where pydicom's rules apply.

    Binary values are always inline here: the caller applies the bulk data threshold.
    """
    if not value:
        return {"vr": vr}
    if vr in _TEXT:
        if vr in _CHARSET_VR and codec is None:
            return None
        text = value.decode(codec if vr in _CHARSET_VR else "ascii")
        text = text.strip(" \0") if vr in _STRIP_BOTH else text.rstrip(" \0")
        parts = [text] if vr in _SINGLE_VALUED else text.split("\\")
        if len(parts) > 1 and not all(parts):
            return None  # empty values inside a list: pydicom's own rules
        if parts == [""]:
            return {"vr": vr}
        if vr == "PN":
            return {"vr": vr, "Value": [_person_name(p) for p in parts]}
        if vr == "IS":
            return {"vr": vr, "Value": [int(p) for p in parts]}
        if vr == "DS":
            return {"vr": vr, "Value": [float(p) for p in parts]}
        return {"vr": vr, "Value": parts}
    if vr in _NUMBERS:
        code, one = _NUMBERS[vr], _ONE_NUMBER[vr]
        size = one.size
        if little_endian and len(value) == size:  # the common case: a single value
            (number,) = one.unpack(value)
            return {"vr": vr, "Value": [float(number) if code in "fd" else number]}
        if len(value) % size:
            return None
        order = "<" if little_endian else ">"
        numbers = struct.unpack(f"{order}{len(value) // size}{code}", value)
        return {"vr": vr, "Value": [float(n) for n in numbers] if code in "fd" else list(numbers)}
    if vr in _BINARY:
        return {"vr": vr, "InlineBinary": base64.b64encode(value).decode("ascii")}
    if vr == "AT" and len(value) % 4 == 0:
        order = "<" if little_endian else ">"
        pairs = struct.unpack(f"{order}{len(value) // 2}H", value)
        return {"vr": vr, "Value": [f"{pairs[i]:04X}{pairs[i + 1]:04X}"
                                    for i in range(0, len(pairs), 2)]}  # fmt: skip
    return None


def _person_name(text: str) -> dict[str, str]:
    groups = text.split("=")
    name = {"Alphabetic": groups[0]}
    if len(groups) > 1:
        name["Ideographic"] = groups[1]
    if len(groups) > 2:
        name["Phonetic"] = groups[2]
    return name


def _by_pydicom(dataset: Dataset, tag: Any, threshold: int, handler: Handler,
                codec: str | None) -> dict[str, Any]:  # fmt: skip
    element = dataset[tag]
    if element.VR == "SQ":
        return {"vr": "SQ", "Value": [dataset_to_json(item, threshold, handler, codec)
                                      for item in element.value]}  # fmt: skip
    return element.to_json_dict(handler, threshold)


BASE_PLACEHOLDER = "@@DICOMWEB@@"
"""Stands for the DICOMweb service URL in stored BulkDataURIs, replaced when served."""


def fill_bulk_uris(item: dict[str, Any], prefix: str, path: tuple[str, ...] = ()) -> None:
    """Each empty BulkDataURI becomes ``prefix/tag[/item/tag...]`` (PS3.18 8.6)."""
    for tag, element in item.items():
        if element.get("BulkDataURI") == "":
            element["BulkDataURI"] = "/".join([prefix, *path, tag])
        if element.get("vr") == "SQ":
            for index, child in enumerate(element.get("Value") or []):
                fill_bulk_uris(child, prefix, (*path, tag, str(index)))
