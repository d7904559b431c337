"""An HL7 v2 message as a thin, lazy view over its text.

HL7 v2.5.1 ch. 2, 2.5-2.6: a message is segments, a segment is fields, a field may repeat,
a repetition has components, a component has subcomponents. Parsing (``parse.py``) splits
segments and fields only, because that is all most readers need and it is what makes reading
fast; repetitions, components and subcomponents are split, and escapes decoded, when a value is
asked for. Numbering is the standard's: for MSH (and BHS, FHS) field 1 is the field separator
and field 2 the encoding characters.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from .address import Address
from .charsets import codec_for
from .escape import unescape

HEADER_SEGMENTS = frozenset({"MSH", "BHS", "FHS"})  # whose field 1 is the field separator


@dataclass(frozen=True, slots=True)
class Separators:
    """The delimiters a message declares in MSH-1 and MSH-2 (HL7 v2.5.1 ch. 2, 2.5.4).

    ``truncation`` is the fifth encoding character that v2.7 added (``#``), when present.
    """

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"
    truncation: str | None = None

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as it is written: component, repetition, escape, subcomponent[, truncation]."""
        chars = self.component + self.repetition + self.escape + self.subcomponent
        return chars + (self.truncation or "")


class _Reading:
    """What every value of one message is read with: its separators and its codec.

    The codec is only needed for escaped hex bytes, so MSH-18 is looked up when first asked.
    """

    __slots__ = ("separators", "repetition", "component", "subcomponent", "escape", "_codec")

    def __init__(self, separators: Separators, codec: str | None, msh: str) -> None:
        self.separators = separators
        self.repetition = separators.repetition
        self.component = separators.component
        self.subcomponent = separators.subcomponent
        self.escape = separators.escape
        self._codec: str | Callable[[], str] = codec or (lambda: _msh18_codec(msh, separators))

    @property
    def codec(self) -> str:
        codec = self._codec
        if not isinstance(codec, str):
            codec = self._codec = codec()
        return codec


def _msh18_codec(msh: str, separators: Separators) -> str:
    fields = msh.split(separators.field)  # ["MSH", MSH-2, MSH-3, ...]: MSH-18 at 17
    charset = fields[17] if len(fields) > 17 else ""
    first = charset.split(separators.repetition, 1)[0].split(separators.component, 1)[0]
    return codec_for(unescape(first, separators))


class Field:
    """One repetition of a field, kept as escaped text until a part of it is asked for."""

    __slots__ = ("raw", "_reading")

    def __init__(self, raw: str, reading: _Reading) -> None:
        self.raw = raw
        self._reading = reading

    def raw_component(self, i: int, sub: int | None = None) -> str:
        """Component ``i`` (or its subcomponent ``sub``) as escaped text; "" if absent."""
        parts = self.raw.split(self._reading.component)
        if not 0 < i <= len(parts):
            return ""
        if sub is None:
            return parts[i - 1]
        subs = parts[i - 1].split(self._reading.subcomponent)
        return subs[sub - 1] if 0 < sub <= len(subs) else ""

    def component(self, i: int, sub: int = 1) -> str:
        """Component ``i``, subcomponent ``sub``, decoded; "" if absent."""
        raw = self.raw_component(i, sub)
        reading = self._reading
        if reading.escape in raw:
            return unescape(raw, reading.separators, reading.codec)
        return raw

    @property
    def components(self) -> list[str]:
        """Every component's first subcomponent, decoded."""
        reading = self._reading
        return [
            unescape(part.split(reading.subcomponent, 1)[0], reading.separators, reading.codec)
            for part in self.raw.split(reading.component)
        ]

    def subcomponents(self, i: int) -> list[str]:
        """The subcomponents of component ``i``, decoded; [] if absent."""
        reading = self._reading
        raw = self.raw_component(i)
        if not raw:
            return []
        return [
            unescape(sub, reading.separators, reading.codec)
            for sub in raw.split(reading.subcomponent)
        ]

    @property
    def is_empty(self) -> bool:
        return not self.raw

    @property
    def is_null(self) -> bool:
        """``""``: the sender asks to delete the value (HL7 v2.5.1 ch. 2, 2.5.3)."""
        return self.raw == '""'

    def __str__(self) -> str:
        return self.raw

    def __repr__(self) -> str:
        return f"Field({self.raw!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Field) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


class Segment:
    """One segment: its name and its fields as escaped text, indexed by field number."""

    __slots__ = ("name", "_fields", "_reading")

    def __init__(self, line: str, reading: _Reading) -> None:
        fields = line.split(reading.separators.field)
        name = self.name = fields[0]
        if name in HEADER_SEGMENTS:
            fields.insert(1, reading.separators.field)  # MSH-1 is the separator itself
        self._fields = fields
        self._reading = reading

    @property
    def fields_count(self) -> int:
        """The number of the last field present."""
        return len(self._fields) - 1

    def raw_field(self, n: int) -> str:
        """Field ``n`` as escaped text with all its repetitions; "" if absent."""
        fields = self._fields
        return fields[n] if 0 < n < len(fields) else ""

    def value(self, n: int, component: int = 1, subcomponent: int = 1, repetition: int = 1) -> str:
        """The decoded text at field ``n``; "" if any part of the path is absent.

        As python-hl7 reads it: a path that stops short reads the first part below it, so
        ``value(5)`` of ``GARCIA^PEDRO`` is ``GARCIA``. MSH-1 and MSH-2 are read whole.
        """
        try:
            raw = self._fields[n]
        except IndexError:
            return ""
        if not raw:
            return ""
        if n < 3:  # field 0 is the name; MSH-1 and MSH-2 are read whole
            if n < 1:
                return ""
            if self.name in HEADER_SEGMENTS:
                return raw
        reading = self._reading
        if reading.repetition in raw:
            parts = raw.split(reading.repetition)
            if not 0 < repetition <= len(parts):
                return ""
            raw = parts[repetition - 1]
        elif repetition != 1:
            return ""
        if reading.component in raw:
            parts = raw.split(reading.component)
            if not 0 < component <= len(parts):
                return ""
            raw = parts[component - 1]
        elif component != 1:
            return ""
        if reading.subcomponent in raw:
            parts = raw.split(reading.subcomponent)
            if not 0 < subcomponent <= len(parts):
                return ""
            raw = parts[subcomponent - 1]
        elif subcomponent != 1:
            return ""
        if reading.escape in raw:
            return unescape(raw, reading.separators, reading.codec)
        return raw

    def repetitions(self, n: int) -> list[Field]:
        """The repetitions of field ``n``; [] when the field is empty or absent."""
        raw = self.raw_field(n)
        if not raw:
            return []
        reading = self._reading
        if n < 3 and self.name in HEADER_SEGMENTS:
            return [Field(raw, reading)]
        return [Field(part, reading) for part in raw.split(reading.repetition)]

    def field(self, n: int, repetition: int = 1) -> Field:
        """Repetition ``repetition`` of field ``n`` (an empty Field if absent)."""
        found = self.repetitions(n)
        return found[repetition - 1] if 0 < repetition <= len(found) else Field("", self._reading)

    def __str__(self) -> str:
        fields = self._fields
        if self.name in HEADER_SEGMENTS and len(fields) > 1:
            return fields[0] + fields[1] + fields[1].join(fields[2:])
        return self._reading.separators.field.join(fields)

    def __repr__(self) -> str:
        return f"Segment({str(self)!r})"


_Plan = tuple[str, int, int, int, int, int]  # segment, occurrence, field, component, sub, rep
_plans: dict[str | Address, _Plan] = {}  # addresses read so far, for get()


def _plan(address: str | Address) -> _Plan:
    parsed = Address.parse(address) if isinstance(address, str) else address
    plan = (
        parsed.segment,
        parsed.occurrence or 1,
        parsed.field,
        parsed.component or 1,
        parsed.subcomponent or 1,
        parsed.repetition or 1,
    )
    if len(_plans) > 4096:  # a bound, should addresses ever come from input
        _plans.clear()
    _plans[address] = plan
    return plan


class Message:
    """A parsed message: its separators, its segments in order (Z-segments kept), MSH helpers.

    Segments are made from their lines when first asked for. ``notes`` lists what the parser
    repaired on the way (a line joined to the segment before it, a doubled escape character in
    MSH-2), for the message log.
    """

    __slots__ = ("separators", "notes", "_lines", "_reading", "_made", "_index")

    def __init__(
        self,
        separators: Separators,
        lines: list[str],
        codec: str | None = None,
        notes: list[str] | None = None,
    ) -> None:
        """``lines``: one segment each, MSH first; ``codec``: None reads MSH-18's."""
        self.separators = separators
        self.notes = notes if notes is not None else []
        self._lines = lines
        self._reading = _Reading(separators, codec, lines[0])
        self._made: list[Segment | None] = [None] * len(lines)
        self._index: dict[str, list[int]] | None = None

    @property
    def codec(self) -> str:
        """The Python codec of the message's text, used for escaped hex bytes."""
        return self._reading.codec

    def _segment_at(self, i: int) -> Segment:
        segment = self._made[i]
        if segment is None:
            segment = self._made[i] = Segment(self._lines[i], self._reading)
        return segment

    def _segments_by_name(self) -> dict[str, list[int]]:
        index: dict[str, list[int]] = {}
        for i, line in enumerate(self._lines):
            found = index.get(line[:3])
            if found is None:
                index[line[:3]] = [i]
            else:
                found.append(i)
        self._index = index
        return index

    @property
    def segments(self) -> list[Segment]:
        """Every segment, in order."""
        return [self._segment_at(i) for i in range(len(self._lines))]

    def segment(self, name: str, occurrence: int = 1) -> Segment | None:
        """The ``occurrence``-th segment called ``name`` (from 1), or None."""
        found = (self._index or self._segments_by_name()).get(name)
        if found is None or not 0 < occurrence <= len(found):
            return None
        i = found[occurrence - 1]
        return self._made[i] or self._segment_at(i)

    def all(self, name: str) -> list[Segment]:
        """Every segment called ``name``, in order."""
        found = (self._index or self._segments_by_name()).get(name, ())
        return [self._segment_at(i) for i in found]

    def get(self, address: str | Address) -> str:
        """The decoded value at ``address`` (``"PID.3.1"``, ``"OBX[2].5"``); "" if absent.

        Raises ``ValueError`` for text that is no address.
        """
        plan = _plans.get(address) or _plan(address)
        name, occurrence, n, component, subcomponent, repetition = plan
        found = (self._index or self._segments_by_name()).get(name)
        if found is None or occurrence > len(found):
            return ""
        i = found[occurrence - 1]
        segment = self._made[i] or self._segment_at(i)
        return segment.value(n, component, subcomponent, repetition)

    @property
    def msh(self) -> Segment:
        return self._made[0] or self._segment_at(0)

    @property
    def control_id(self) -> str:
        """MSH-10, the id an ACK echoes in MSA-2."""
        return self.msh.value(10)

    @property
    def message_code(self) -> str:
        return self.msh.value(9, 1)

    @property
    def trigger_event(self) -> str:
        return self.msh.value(9, 2)

    @property
    def structure(self) -> str:
        return self.msh.value(9, 3)

    @property
    def version(self) -> str:
        return self.msh.value(12, 1)

    @property
    def processing_id(self) -> str:
        return self.msh.value(11, 1)

    @property
    def sending_application(self) -> str:
        return self.msh.value(3, 1)

    @property
    def sending_facility(self) -> str:
        return self.msh.value(4, 1)

    @property
    def receiving_application(self) -> str:
        return self.msh.value(5, 1)

    @property
    def receiving_facility(self) -> str:
        return self.msh.value(6, 1)

    @property
    def charset(self) -> str:
        """MSH-18's first repetition: the character set the message says it is in."""
        return self.msh.value(18).strip()

    @property
    def accept_ack_type(self) -> str:
        """MSH-15; set (with MSH-16) when the sender wants enhanced-mode acknowledgements."""
        return self.msh.value(15)

    @property
    def application_ack_type(self) -> str:
        return self.msh.value(16)

    def __iter__(self) -> Iterator[Segment]:
        return iter(self.segments)

    def __len__(self) -> int:
        return len(self._lines)

    def __str__(self) -> str:
        """The message re-encoded, each segment ended by CR (HL7 v2.5.1 ch. 2, 2.5)."""
        return "".join(line + "\r" for line in self._lines)

    def __repr__(self) -> str:
        return f"<Message {self.message_code}^{self.trigger_event} {self.control_id!r}>"


__all__ = ["HEADER_SEGMENTS", "Field", "Message", "Segment", "Separators"]
