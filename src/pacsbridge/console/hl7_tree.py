"""An HL7 v2 message as the console shows it: raw text, and a tree of named fields.

The raw bytes are decoded as the listener decoded them (BOM, then MSH-18, else the
charset logged with the message), so the page shows the characters the sender meant.
A message that does not parse is still shown raw, with the parser's reason: those are
the messages an integration engineer most needs to read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pacsbridge.console.field_names import SEGMENT_NAMES, field_name
from pacsbridge.formats.hl7v2.charsets import HL7DecodeError, charset_for, decode
from pacsbridge.formats.hl7v2.message import HEADER_SEGMENTS, Field, Segment
from pacsbridge.formats.hl7v2.parse import HL7ParseError, parse_message

DEFAULT_VERSION = "2.5"


@dataclass(frozen=True)
class Component:
    address: str  # PID-5.2
    name: str
    value: str


@dataclass(frozen=True)
class FieldNode:
    """One repetition of one field: ``PID-3`` or ``PID-3[2]`` for the second repetition."""

    address: str
    name: str
    datatype: str
    value: str  # decoded when simple; as sent (escaped) when it has components
    components: list[Component] = field(default_factory=list)


@dataclass(frozen=True)
class SegmentNode:
    name: str
    description: str
    fields: list[FieldNode]


@dataclass(frozen=True)
class MessageTree:
    """What the message page shows; ``segments`` is empty when the message did not parse."""

    text: str
    segments: list[SegmentNode]
    problem: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def lines(self) -> str:
        """The text with one segment per line, for a ``<pre>``."""
        return self.text.replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")


def decode_text(raw: bytes, charset: str | None = None) -> tuple[str, str | None]:
    """The message text, and a note when the bytes could only be read leniently."""
    default = charset if charset and charset_for(charset) else "ASCII"
    try:
        text, used = decode(raw, default)
    except (HL7DecodeError, ValueError) as exc:
        return raw.decode("latin-1"), f"not decodable as declared ({exc}); shown as Latin-1"
    return text, used.note or None


def message_tree(raw: bytes, charset: str | None = None) -> MessageTree:
    text, note = decode_text(raw, charset)
    notes = [note] if note else []
    try:
        message = parse_message(text)
    except HL7ParseError as exc:
        return MessageTree(text, [], problem=str(exc), notes=notes)
    version = message.version or DEFAULT_VERSION
    segments = [_segment_node(segment, version) for segment in message.segments]
    return MessageTree(text, segments, notes=notes + list(message.notes))


def _segment_node(segment: Segment, version: str) -> SegmentNode:
    nodes: list[FieldNode] = []
    for n in range(1, segment.fields_count + 1):
        raw = segment.raw_field(n)
        if not raw:
            continue
        named = field_name(segment.name, n, version)
        name, datatype = (named.name, named.datatype) if named else ("", "")
        address = f"{segment.name}-{n}"
        if n < 3 and segment.name in HEADER_SEGMENTS:  # the separators themselves
            nodes.append(FieldNode(address, name, datatype, raw))
            continue
        repetitions = segment.repetitions(n)
        for index, repetition in enumerate(repetitions, 1):
            where = address if len(repetitions) == 1 else f"{address}[{index}]"
            components = _components(repetition, where, named.components if named else ())
            value = repetition.raw if components else " & ".join(repetition.subcomponents(1))
            nodes.append(FieldNode(where, name, datatype, value, components))
    return SegmentNode(segment.name, SEGMENT_NAMES.get(segment.name, ""), nodes)


def _components(repetition: Field, address: str, names: tuple[str, ...]) -> list[Component]:
    """The non-empty components of a repetition that has several; [] for a simple value."""
    count = len(repetition.components)
    if count < 2:
        return []
    found = []
    for i in range(1, count + 1):
        value = " & ".join(repetition.subcomponents(i))
        if value:
            name = names[i - 1] if i <= len(names) else ""
            found.append(Component(f"{address}.{i}", name, value))
    return found
