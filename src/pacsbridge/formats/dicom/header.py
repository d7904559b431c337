"""A received dataset's DICOM JSON read straight from its bytes, in one pass.

Each C-STORE needs the JSON of the dataset's header (all but the pixel data) for the
index. Through pydicom (``dcmread`` of the header, then ``dataset_to_json``) that costs
about 1.5 ms for a CT header, the largest part of a C-STORE's time. Almost every
modality sends explicit VR little endian (compressed syntaxes included), which is simple
to walk: tag, VR, length, value. This walks it and converts each value with
``json.element_json``; anything it is unsure of (implicit VR, big endian, deflate, UN,
ISO 2022 text, an out-of-order or truncated element) makes it decline with None, and the
caller takes pydicom's path, which the tests hold it to, element by element.

``Header`` reads attributes back out of such JSON by keyword, as DICOM text: the index
rows and the ImagingStudy need a dozen of them, not a pydicom Dataset of hundreds.
"""

from __future__ import annotations

import struct
from functools import cache
from typing import Any

from pydicom.datadict import tag_for_keyword
from pydicom.uid import UID

from pacsbridge.formats.dicom.json import charset_codec, element_json

_TAG = struct.Struct("<HH")
_HEAD = struct.Struct("<HH2sH")  # group, element, VR, and the length if it is a short one
_LONG = struct.Struct("<L")
# The VRs as they come, to their names: one dict lookup tells the kind of length too.
_LONG_LENGTH_VRS = {vr: vr.decode() for vr in (b"OB", b"OD", b"OF", b"OL", b"OV", b"OW",
                    b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV")}  # fmt: skip
_SHORT_LENGTH_VRS = {vr: vr.decode() for vr in (b"AE", b"AS", b"AT", b"CS", b"DA", b"DS",
                     b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"PN", b"SH", b"SL", b"SS",
                     b"ST", b"TM", b"UI", b"UL", b"US")}  # fmt: skip
_BINARY = {"OB", "OD", "OF", "OL", "OV", "OW"}
_PIXELS = {0x7FE00008, 0x7FE00009, 0x7FE00010}  # where pydicom's stop_before_pixels stops
ITEM, ITEM_END, SEQUENCE_END = 0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF


class _Decline(Exception):
    """Something pydicom should read."""


def read_header_json(dataset: bytes, transfer_syntax: str,
                     bulk_threshold: int) -> dict[str, Any] | None:  # fmt: skip
    """The JSON pydicom's ``to_json_dict`` gives for the header, or None to ask pydicom.

    Values longer than ``bulk_threshold`` once in base64 get an empty ``BulkDataURI``,
    for the caller to fill.
    """
    try:
        syntax = UID(transfer_syntax)
        if syntax.is_implicit_VR or not syntax.is_little_endian or syntax.is_deflated:
            return None
    except ValueError:  # not a transfer syntax pydicom knows
        return None
    try:
        found, _ = _dataset(dataset, 0, len(dataset), "iso8859", bulk_threshold, top=True)
    except (_Decline, struct.error, UnicodeDecodeError, ValueError, LookupError):
        return None
    return found


def _dataset(data: bytes, position: int, end: int, codec: str | None, threshold: int, *,
             top: bool = False, delimited: bool = False) -> tuple[dict[str, Any], int]:  # fmt: skip
    """Elements from ``position`` to ``end`` (or to the item delimiter when ``delimited``)."""
    found: dict[str, Any] = {}
    previous = -1
    bulk = (threshold // 4) * 3  # pydicom's rule: base64 makes values a third longer
    while position < end:
        group, number, raw_vr, length = _HEAD.unpack_from(data, position)
        tag = group << 16 | number
        if tag == ITEM_END and delimited:
            return found, position + 8
        if top and tag in _PIXELS:
            return found, position
        if tag <= previous or group == 0xFFFE:
            raise _Decline  # out of order, repeated, or a stray delimiter
        previous = tag
        vr = _SHORT_LENGTH_VRS.get(raw_vr)
        if vr is not None:
            position += 8
        else:
            vr = _LONG_LENGTH_VRS.get(raw_vr)
            if vr is None:
                raise _Decline
            (length,) = _LONG.unpack_from(data, position + 8)
            position += 12
        key = _KEYS.get(tag) or _key_of(tag)
        if vr == "SQ":
            items, position = _sequence(data, position, length, codec, threshold)
            found[key] = {"vr": "SQ", "Value": items}
            continue
        if length == UNDEFINED or vr == "UN" or position + length > end:
            raise _Decline
        value = data[position : position + length]
        position += length
        if tag == 0x00080005:
            codec = charset_codec(value.decode("ascii").split("\\"))
        if vr in _BINARY and length > bulk:
            found[key] = {"vr": vr, "BulkDataURI": ""}
            continue
        converted = element_json(vr, value, codec)
        if converted is None:
            raise _Decline
        found[key] = converted
    if delimited:
        raise _Decline  # the item delimiter never came
    return found, position


_KEYS: dict[int, str] = {}  # tag → its JSON key, for the tags seen so far (bounded)


def _key_of(tag: int) -> str:
    key = f"{tag:08X}"
    if len(_KEYS) < 65536:
        _KEYS[tag] = key
    return key


def _sequence(data: bytes, position: int, length: int, codec: str | None,
              threshold: int) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """The items of a sequence of defined or undefined length, and where it ends."""
    items = []
    end = len(data) if length == UNDEFINED else position + length
    if end > len(data):
        raise _Decline
    while position < end:
        group, number = _TAG.unpack_from(data, position)
        tag = group << 16 | number
        (item_length,) = _LONG.unpack_from(data, position + 4)
        position += 8
        if tag == SEQUENCE_END and length == UNDEFINED:
            return items, position
        if tag != ITEM:
            raise _Decline
        if item_length == UNDEFINED:
            item, position = _dataset(data, position, end, codec, threshold, delimited=True)
        else:
            item_end = position + item_length
            if item_end > end:
                raise _Decline
            item, position = _dataset(data, position, item_end, codec, threshold)
        items.append(item)
    if length == UNDEFINED:
        raise _Decline  # no sequence delimiter
    return items, position


class Header:
    """Attributes of an instance's stored DICOM JSON as DICOM text, by keyword:
    ``header["PatientID"]``, without building a pydicom Dataset from the JSON."""

    def __init__(self, metadata: dict[str, Any]) -> None:
        self.metadata = metadata

    def __getitem__(self, keyword: str) -> str:
        """The value as DICOM text (multiple values joined by backslashes), "" if absent."""
        values = (self.metadata.get(_key(keyword)) or {}).get("Value") or []
        return "\\".join(_text(value) for value in values)

    def get(self, keyword: str) -> str | None:
        return self[keyword] or None


@cache
def _key(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    if tag is None:
        raise KeyError(keyword)
    return f"{tag:08X}"


def _text(value: Any) -> str:
    if isinstance(value, dict):  # a person name's component groups
        groups = [value.get(k, "") for k in ("Alphabetic", "Ideographic", "Phonetic")]
        return "=".join(groups).rstrip("=")
    return str(value)
