"""An HL7 v2 message as a thin, lazy view over its text.

HL7 v2.5.1 ch. 2, 2.5-2.6: a message is segments, a segment is fields, a field may repeat,
a repetition has components, a component has subcomponents. Parsing (``parse.py``) splits
the segments only, because that is all most readers need and it is what makes reading fast;
a segment's fields are split when it is first asked for, and repetitions, components and
subcomponents are split, and escapes decoded, when a value is read. Numbering is the
standard's: for MSH (and BHS, FHS) field 1 is the field separator, field 2 the encoding
characters.
"""

from __future__ import annotations

from collections.abc import Iterator

from .address import Address
from .escape import unescape
from .field import Field
from .separators import Separators, _Reading

HEADER_SEGMENTS = frozenset({"MSH", "BHS", "FHS"})  # whose field 1 is the field separator


class Segment:
    """One segment: its name and its fields as escaped text, indexed by field number."""

    __slots__ = ("name", "_fields", "_reading")

    def __init__(self, fields: list[str], reading: _Reading) -> None:
        """``fields``: the name, then field 1, 2, ... as escaped text (MSH-1 included)."""
        self.name = fields[0]
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
        if reading.plain:  # the usual message: components are all there is to split
            if reading.component not in raw:
                return raw if component == 1 and subcomponent == 1 and repetition == 1 else ""
            parts = raw.split(reading.component)
            if not 0 < component <= len(parts) or subcomponent != 1 or repetition != 1:
                return ""
            return parts[component - 1]
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
    """A parsed message: its segments in order (Z-segments kept), and MSH helpers.

    Made by :func:`~pacsbridge.formats.hl7v2.parse.parse_message`. Segments are made from
    their lines when first asked for. ``notes`` lists what the parser repaired on the way
    (a line joined to the segment before it, a doubled escape character in MSH-2), for the
    message log.
    """

    __slots__ = ("notes", "_lines", "_names", "_reading", "_fields", "_made")

    def __init__(
        self, lines: list[str], names: list[str], reading: _Reading, notes: list[str]
    ) -> None:
        """``lines``: one segment each, MSH first; ``names``: their first three characters."""
        self.notes = notes
        self._lines = lines
        self._names = names
        self._reading = reading
        self._fields: list[list[str] | None] = [None] * len(lines)  # each line's, once split
        self._made: list[Segment | None] = [None] * len(lines)

    @property
    def separators(self) -> Separators:
        return self._reading.separators

    @property
    def codec(self) -> str:
        """The Python codec of the message's text, used for escaped hex bytes."""
        return self._reading.codec

    def _fields_at(self, i: int) -> list[str]:
        """Line ``i`` split into its name and fields, numbered as the standard numbers them."""
        fields = self._fields[i]
        if fields is None:
            field = self._reading.separators.field
            fields = self._fields[i] = self._lines[i].split(field)
            if fields[0] in HEADER_SEGMENTS:
                fields.insert(1, field)  # MSH-1 is the separator itself
        return fields

    def _segment_at(self, i: int) -> Segment:
        segment = self._made[i]
        if segment is None:
            fields = self._fields[i]
            if fields is None:  # _fields_at(i), inlined: segments are made on every read path
                field = self._reading.separators.field
                fields = self._fields[i] = self._lines[i].split(field)
                if fields[0] in HEADER_SEGMENTS:
                    fields.insert(1, field)
            segment = self._made[i] = Segment(fields, self._reading)
        return segment

    def _position(self, name: str, occurrence: int) -> int:
        """Where the ``occurrence``-th segment called ``name`` is; -1 if nowhere."""
        names = self._names
        try:
            at = names.index(name)
            while occurrence > 1:
                at = names.index(name, at + 1)
                occurrence -= 1
        except ValueError:
            return -1
        return at if occurrence == 1 else -1

    @property
    def segments(self) -> list[Segment]:
        """Every segment, in order."""
        return [self._made[i] or self._segment_at(i) for i in range(len(self._lines))]

    def segment(self, name: str, occurrence: int = 1) -> Segment | None:
        """The ``occurrence``-th segment called ``name`` (from 1), or None."""
        if occurrence == 1:
            try:
                at = self._names.index(name)
            except ValueError:
                return None
        else:
            at = self._position(name, occurrence)
            if at < 0:
                return None
        return self._made[at] or self._segment_at(at)

    def all(self, name: str) -> list[Segment]:
        """Every segment called ``name``, in order."""
        return [
            self._made[i] or self._segment_at(i)
            for i, found in enumerate(self._names)
            if found == name
        ]

    def get(self, address: str | Address) -> str:
        """The decoded value at ``address`` (``"PID.3.1"``, ``"OBX[2].5"``); "" if absent.

        Raises ``ValueError`` for text that is no address.
        """
        try:
            name, occurrence, n, component, subcomponent, repetition = _plans[address]
        except KeyError:
            name, occurrence, n, component, subcomponent, repetition = _plan(address)
        if occurrence == 1:
            try:
                at = self._names.index(name)
            except ValueError:
                return ""
        else:
            at = self._position(name, occurrence)
            if at < 0:
                return ""
        reading = self._reading
        if n < 3 or not reading.plain:
            segment = self._made[at] or self._segment_at(at)
            return segment.value(n, component, subcomponent, repetition)
        # Segment.value's shortcut for plain messages, inlined: here a call costs as much as
        # the work, and profiles read every value by address.
        try:
            raw = (self._fields[at] or self._fields_at(at))[n]
        except IndexError:
            return ""
        if reading.component not in raw:
            return raw if component == 1 and subcomponent == 1 and repetition == 1 else ""
        parts = raw.split(reading.component)
        if not 0 < component <= len(parts) or subcomponent != 1 or repetition != 1:
            return ""
        return parts[component - 1]

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
