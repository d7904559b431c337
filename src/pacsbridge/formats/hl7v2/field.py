"""One repetition of a field, read part by part (HL7 v2.5.1 ch. 2, 2.5.3).

A field may repeat (separated by ``~``); each repetition has components (``^``), each
component subcomponents (``&``). A :class:`Field` keeps its repetition as escaped text and
splits and decodes only the part asked for.
"""

from __future__ import annotations

from .escape import unescape
from .separators import _Reading


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


__all__ = ["Field"]
