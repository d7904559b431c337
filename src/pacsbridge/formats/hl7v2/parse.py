"""Reading HL7 v2 text into a :class:`Message`, and batches into their messages.

HL7 v2.5.1 ch. 2, 2.5: segments end with CR; the MSH segment declares the field separator
(MSH-1) and the encoding characters (MSH-2), which must all differ. Real senders depart from
this, and we accept what can be read without guessing:

- segment ends may be CR, LF or CR LF, mixed, with blank lines between segments and whitespace,
  a byte order mark or stray MLLP bytes before MSH;
- a line that cannot start a segment (no ``XXX`` segment id followed by the field separator)
  is the rest of the segment before it, split by a bare CR or a wrapped line inside a field,
  and is joined to it (the join is listed in ``Message.notes``);
- MSH-2 ``^~\\\\&`` (the escape character doubled, as written by code that escaped a
  backslash twice) is read as ``^~\\&``; a strict reading would make ``\\`` the subcomponent
  separator *and* the escape character, which no sender means;
- missing encoding characters take their default (python-hl7 does the same).

What cannot be read (no MSH at the start, separators that repeat or are letters) raises
:class:`HL7ParseError`, which the listener answers with AR.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from ...errors import BadValue
from .message import Message
from .separators import Separators, _Reading, msh18_codec

_LEADING = "\ufeff\x00\x0b\x0c\x1c \t\r\n"  # skipped before MSH: BOM, MLLP bytes, whitespace
_BLANK = "\ufeff\x00\x0b\x0c\x1c \t"  # a line of only these is no segment
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}").fullmatch
_seen_ids: set[str] = set()  # valid segment ids met so far: at most 26 * 36 * 36 entries
_known_separators: dict[str, tuple[Separators, tuple[str, ...]]] = {}  # by MSH's first 2 fields
_readings: dict[tuple[str, str, bool], _Reading] = {}
_DEFAULT_ENCODING = "^~\\&"
_BATCH_ENVELOPE = frozenset({"FHS", "BHS", "BTS", "FTS"})


class HL7ParseError(BadValue):
    """Text that is no readable HL7 v2 message; ``msh_readable`` says if MSH could be read.

    When MSH cannot be read the answer cannot even echo MSH-10: the listener sends AR with
    what it has (HL7 v2.5.1 ch. 2, 2.9.2 and 2.15.8).
    """

    def __init__(self, text: str, location: str | None = None, *, msh_readable: bool = False):
        super().__init__(text, location)
        self.msh_readable = msh_readable


def _is_segment_start(line: str, field_separator: str) -> bool:
    """A segment id (three upper-case letters or digits, HL7 v2.5.1 ch. 2, 2.5.2) then a field."""
    rest = line[3:4]
    if rest != field_separator and rest:
        return False
    name = line[:3]
    if name in _seen_ids:
        return True
    if _SEGMENT_ID(name):
        _seen_ids.add(name)
        return True
    return False


@lru_cache(maxsize=64)
def _segment_names(field: str) -> Callable[[str, int, int], list[str]]:
    """Finds the segment ids (HL7 v2.5.1 ch. 2, 2.5.2) after line ends, where a field follows."""
    return re.compile(rf"\r([A-Z][A-Z0-9]{{2}})(?={re.escape(field)}|\r|\Z)").findall


@lru_cache(maxsize=256)
def _separators(field: str, encoding: str) -> tuple[Separators, tuple[str, ...]]:
    """Separators from MSH-1 and MSH-2, with the repairs made (HL7 v2.5.1 ch. 2, 2.5.4)."""
    notes: tuple[str, ...] = ()
    if len(encoding) >= 4 and encoding[2] == encoding[3]:
        notes = (f"MSH-2 {encoding!r} doubles the escape character: read as one",)
        encoding = encoding[:3] + encoding[4:]
    if len(encoding) > 5:
        raise HL7ParseError(
            f"MSH-2 {encoding!r} has more than 5 encoding characters", "MSH.2", msh_readable=False
        )
    chars = field + encoding + _DEFAULT_ENCODING[len(encoding) :]
    bad = [c for c in chars if c.isalnum() or c.isspace() or not c.isprintable()]
    if bad or len(set(chars)) != len(chars):
        raise HL7ParseError(
            f"MSH-1 {field!r} and MSH-2 {encoding!r} are no usable separators: they must be "
            "distinct punctuation characters",
            "MSH.2" if field not in bad else "MSH.1",
            msh_readable=False,
        )
    separators = Separators(
        field=chars[0],
        component=chars[1],
        repetition=chars[2],
        escape=chars[3],
        subcomponent=chars[4],
        truncation=chars[5] if len(chars) > 5 else None,
    )
    return separators, notes


def _read_separators(text: str) -> tuple[Separators, tuple[str, ...], str]:
    """The separators of a text that starts with ``MSH``, the repairs made to read them, and
    the key they are cached under (MSH-1, MSH-2 and the next separator; "" if not cached)."""
    field = text[3:4]
    end = text.find(field, 4, 64) if field else -1
    if end >= 0:
        key = text[3 : end + 1]
        known = _known_separators.get(key)
        if known is not None:
            return known[0], known[1], key
    if not field or field in "\r\n":
        raise HL7ParseError("MSH has no field separator (MSH-1)", "MSH.1", msh_readable=False)
    head = text[4:64]
    for end_char in (field, "\r", "\n"):
        cut = head.find(end_char)
        if cut >= 0:
            head = head[:cut]
    separators, repairs = _separators(field, head)
    if end != 4 + len(head) or len(_known_separators) >= 256:
        return separators, repairs, ""
    key = text[3 : end + 1]
    _known_separators[key] = separators, repairs
    return separators, repairs, key


def _reading(separators: Separators, key: str, codec: str, plain: bool) -> _Reading:
    """A new reading, kept for the alike messages that follow (making one costs more)."""
    reading = _Reading(separators, codec, plain)
    if key and len(_readings) < 1024:
        _readings[key, codec, plain] = reading
    return reading


def _no_msh(text: str) -> HL7ParseError:
    found = text.lstrip(_LEADING)[:20]
    if found[:3] in _BATCH_ENVELOPE:
        reason = f"this is a batch ({found[:3]}): split it with split_batch first"
    elif not found:
        reason = "the message is empty"
    else:
        reason = f"the message does not start with MSH (it starts {found!r})"
    return HL7ParseError(reason, "MSH", msh_readable=False)


def _lines(text: str) -> list[str]:
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    return text.split("\r")


def parse_message(text: str, *, codec: str | None = None) -> Message:
    """Parse one message; segments are split now, fields when a segment is first read.

    ``codec`` is the character set the text was decoded with (``charsets.decode`` returns
    it); escaped hex bytes (``\\Xhh\\``) are read with it. Without it, MSH-18's codec is used.
    """
    if not text.startswith("MSH"):
        text = text.lstrip(_LEADING)
        if not text.startswith("MSH"):
            raise _no_msh(text)
    separators, repairs, key = _read_separators(text)
    if "\n" in text:
        text = text.replace("\r\n", "\r").replace("\n", "\r")
    field = separators.field
    end = len(text) - 1 if text.endswith("\r") else len(text)
    lines = text.split("\r")
    if not lines[-1]:
        lines.pop()
    names = _segment_names(field)(text, 0, end)  # of the lines after MSH that start a segment
    if len(names) == len(lines) - 1:  # the usual case: all of them
        names.insert(0, "MSH")
        notes = list(repairs)
    else:
        lines, notes = _careful_lines(lines, field, list(repairs))
        names = [line[:3] for line in lines]
    codec = codec or msh18_codec(lines[0], separators)
    body = text.find(field, 4)  # after MSH-2, which holds every separator
    plain = (  # no repetition, subcomponent or escape character: values need less work
        body >= 0
        and text.find(separators.repetition, body) < 0
        and text.find(separators.subcomponent, body) < 0
        and text.find(separators.escape, body) < 0
    )
    reading = _readings.get((key, codec, plain)) if key else None
    if reading is None:
        reading = _reading(separators, key, codec, plain)
    return Message(lines, names, reading, notes)


def _careful_lines(lines: list[str], field: str, notes: list[str]) -> tuple[list[str], list[str]]:
    """Skip blank lines; join a line that starts no segment to the one before (noted)."""
    kept: list[str] = []
    for number, line in enumerate(lines, 1):
        if _is_segment_start(line, field):
            kept.append(line)
        elif line.strip(_BLANK):
            # the first line is MSH, so there is one before; a bare name gets a field
            kept[-1] += line if len(kept[-1]) > 3 else field + line
            notes.append(f"line {number} starts no segment: joined to {kept[-1][:3]}")
    return kept, notes


def split_batch(text: str) -> list[str]:
    """The messages of a batch or file (HL7 v2.5.1 ch. 2, 2.10.3), each as its own text.

    FHS/BHS headers and BTS/FTS trailers are dropped (a trailer may be missing); several
    messages in a row without any envelope are split too; a single message comes back alone.
    Each message is returned with its segments ended by CR. A message's own quirks are left
    for :func:`parse_message`; only text before the first header or MSH raises.
    """
    text = text.lstrip(_LEADING)
    messages: list[list[str]] = []
    current: list[str] | None = None
    envelope_seen = False
    for line in _lines(text):
        head = line[:3]
        if head == "MSH" and line[3:4] and not line[3].isalnum():
            current = [line]
            messages.append(current)
        elif head in _BATCH_ENVELOPE and (len(line) == 3 or not line[3].isalnum()):
            current = None
            envelope_seen = True
        elif not line.strip(_BLANK):
            continue
        elif current is not None:
            current.append(line)
        elif not envelope_seen:
            raise HL7ParseError(
                f"text before the first MSH, FHS or BHS segment: {line[:20]!r}",
                "MSH",
                msh_readable=False,
            )
        # else: the rest of a wrapped FHS/BHS line, which carries no message
    return ["".join(line + "\r" for line in lines) for lines in messages]


__all__ = ["HL7ParseError", "parse_message", "split_batch"]
