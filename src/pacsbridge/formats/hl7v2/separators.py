"""The delimiters of a message (MSH-1, MSH-2) and what every value is read with.

HL7 v2.5.1 ch. 2, 2.5.4: the field separator is MSH-1; MSH-2 holds the component,
repetition, escape and subcomponent separators, in that order; v2.7 adds a fifth character,
the truncation character (``#``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .charsets import codec_for
from .escape import unescape


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
    """What the values of a message are read with: its separators, codec, and a shortcut.

    ``codec`` is the message's character set, for escaped hex bytes. ``plain`` says that no
    segment holds a repetition, subcomponent or escape character after MSH-2, so values need
    only a component split. Shared by every message with the same three (the parser caches).
    """

    __slots__ = (
        "separators",
        "codec",
        "plain",
        "repetition",
        "component",
        "subcomponent",
        "escape",
    )

    def __init__(self, separators: Separators, codec: str, plain: bool) -> None:
        self.separators = separators
        self.codec = codec
        self.plain = plain
        self.repetition = separators.repetition
        self.component = separators.component
        self.subcomponent = separators.subcomponent
        self.escape = separators.escape


def msh18_codec(msh: str, separators: Separators) -> str:
    """The codec MSH-18 names (ASCII's when empty or unknown), read from the MSH line."""
    field = separators.field
    if msh.count(field) < 17:  # MSH-18 is the 17th field after the name
        return "ascii"
    charset = msh.split(field, 18)[17]
    first = charset.split(separators.repetition, 1)[0].split(separators.component, 1)[0]
    return codec_for(unescape(first, separators))


__all__ = ["Separators", "msh18_codec"]
