"""The head of a Part 10 file: preamble, ``DICM`` and the file meta information.

A received dataset is kept as it came, behind this head. pydicom's
``write_file_meta_info`` validates and encodes through its general writer, about 0.5 ms
per C-STORE; the file meta of a C-STORE is a handful of short explicit VR little endian
elements, encoded here directly. Any other element, or a value of an unexpected type,
goes through pydicom, and the tests hold both to the same bytes.
"""

from __future__ import annotations

import struct
from io import BytesIO

from pydicom.dataelem import RawDataElement
from pydicom.dataset import FileMetaDataset
from pydicom.filewriter import write_file_meta_info

PREAMBLE = b"\0" * 128 + b"DICM"
_VR = {0x00020001: b"OB", 0x00020002: b"UI", 0x00020003: b"UI", 0x00020010: b"UI",
       0x00020012: b"UI", 0x00020013: b"SH", 0x00020016: b"AE", 0x00020017: b"AE",
       0x00020018: b"AE"}  # fmt: skip
_REQUIRED = {0x00020001, 0x00020002, 0x00020003, 0x00020010, 0x00020012}
_GROUP_LENGTH = 0x00020000


def file_head(file_meta: FileMetaDataset) -> bytes:
    """Preamble, ``DICM`` and the encoded file meta, as ``write_file_meta_info`` writes."""
    body = _encode(file_meta)
    if body is None:
        buffer = BytesIO()
        buffer.write(PREAMBLE)
        write_file_meta_info(buffer, file_meta, enforce_standard=True)
        return buffer.getvalue()
    length = struct.pack("<HH2sHL", 0x0002, 0x0000, b"UL", 4, len(body))
    return PREAMBLE + length + body


def _encode(file_meta: FileMetaDataset) -> bytes | None:
    tags = set(map(int, file_meta.keys())) - {_GROUP_LENGTH}
    if not tags >= _REQUIRED or not tags <= _VR.keys():
        return None
    parts = []
    for tag in sorted(tags):
        vr, element = _VR[tag], file_meta.get_item(tag)
        value = element.value
        if isinstance(element, RawDataElement):  # read from a file: written back as read
            if vr.decode() != element.VR or not isinstance(value, bytes) or len(value) % 2:
                return None
            encoded = value
        elif vr == b"OB":
            if not isinstance(value, bytes):
                return None
            encoded = value + b"\0" * (len(value) % 2)
        elif isinstance(value, str) and value.isascii():
            encoded = value.encode("ascii")
            encoded += (b"\0" if vr == b"UI" else b" ") * (len(encoded) % 2)
        else:
            return None
        if vr == b"OB":
            parts.append(struct.pack("<HH2sxxL", 0x0002, tag & 0xFFFF, vr, len(encoded)))
        else:
            parts.append(struct.pack("<HH2sH", 0x0002, tag & 0xFFFF, vr, len(encoded)))
        parts.append(encoded)
    return b"".join(parts)
