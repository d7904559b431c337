"""HL7 v2 codecs: bytes to messages and back, MLLP framing. Pure: no I/O, no store.

The way in: ``MllpFramer.feed`` → ``decode`` (BOM, MSH-18 or the sender's default) →
``split_batch`` when a frame may hold a batch → ``parse_message`` → ``Message.get("PID.3.1")``.
The way out: ``encode_segment``/``encode_message`` → ``charsets.encode`` → ``frame``.
"""

from __future__ import annotations

from .address import Address
from .charsets import Charset, HL7DecodeError, charset_for, decode, read_charset
from .encode import Repetitions, encode_field, encode_message, encode_segment
from .escape import escape, unescape
from .message import Field, Message, Segment, Separators
from .mllp import FrameTooLarge, MllpFramer, frame
from .parse import HL7ParseError, parse_message, split_batch

__all__ = [
    "Address",
    "Charset",
    "Field",
    "FrameTooLarge",
    "HL7DecodeError",
    "HL7ParseError",
    "Message",
    "MllpFramer",
    "Repetitions",
    "Segment",
    "Separators",
    "charset_for",
    "decode",
    "encode_field",
    "encode_message",
    "encode_segment",
    "escape",
    "frame",
    "parse_message",
    "read_charset",
    "split_batch",
    "unescape",
]
