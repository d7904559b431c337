"""HL7 v2 escape sequences: reading them out of field text and writing them into it.

HL7 v2.5.1 ch. 2, 2.7 ("Use of escape sequences in text fields"): a delimiter that occurs in
data is written as ``\\F\\`` (field), ``\\S\\`` (component), ``\\T\\`` (subcomponent),
``\\R\\`` (repetition) and ``\\E\\`` (the escape character itself); ``\\Xhh..\\`` carries raw
bytes in the message's character set (2.7.5); ``\\H\\``/``\\N\\`` switch highlighting (2.7.3);
``\\.br\\``, ``\\.sp\\``, ``\\.in\\``, ``\\.ti\\``, ``\\.sk\\``, ``\\.ce\\``, ``\\.fi\\``,
``\\.nf\\`` are formatting commands of FT fields (2.7.6). v2.7 adds ``\\P\\`` for the
truncation character.

Reading never raises: a sequence that is unknown (``\\Zxx\\`` local escapes, ``\\C..\\`` and
``\\M..\\`` charset switches, which we cannot honour after the whole message was decoded with
its MSH-18 codec) or broken (no closing escape character, bad hex) is kept literally, because
real senders put unescaped backslashes in free text (Windows paths, RTF).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Separators

LINE_BREAK = "\n"  # what \.br\ reads as
_MAX_REPEAT = 100  # cap on \.sp n\ and \.sk n\, so that "\.sp 999999999\" cannot eat memory
_HEX = re.compile(r"[0-9A-Fa-f]+").fullmatch
_COUNTED = re.compile(r"\.(sp|sk|in|ti)\s*([+-]?\d{1,9})?").fullmatch


@lru_cache(maxsize=64)
def _simple_sequences(separators: Separators) -> dict[str, str]:
    """The sequences that read as a fixed text, for one set of separators."""
    table = {
        "F": separators.field,
        "S": separators.component,
        "T": separators.subcomponent,
        "R": separators.repetition,
        "E": separators.escape,
        "H": "",  # start highlighting: we keep no highlighting
        "N": "",  # normal text
        ".br": LINE_BREAK,
        ".ce": LINE_BREAK,  # "end current output line and center the next": a line break
        ".fi": "",  # fill mode on/off only matter to a printer
        ".nf": "",
    }
    if separators.truncation:
        table["P"] = separators.truncation
    return table


def _counted(sequence: str) -> str | None:
    """``\\.sp n\\`` (n line breaks), ``\\.sk n\\`` (n spaces), ``\\.in``/``\\.ti`` (dropped)."""
    match = _COUNTED(sequence)
    if match is None:
        return None
    command, number = match.groups()
    if command in ("in", "ti"):  # indents shape a printout, not the text
        return ""
    count = min(max(int(number or 1), 1), _MAX_REPEAT)
    return (LINE_BREAK if command == "sp" else " ") * count


def unescape(text: str, separators: Separators, codec: str = "ascii") -> str:
    """Decode the escape sequences of one value (HL7 v2.5.1 ch. 2, 2.7).

    ``codec`` is the message's character set (from MSH-18, else the sender's default): the
    bytes of ``\\Xhh\\`` are in that set, so they are decoded with it; consecutive hex
    sequences are decoded together so that a multi-byte character may span them. Bytes the
    codec cannot read keep their sequence literally, as does anything else we do not know.
    """
    esc = separators.escape
    if esc not in text:
        return text
    parts = text.split(esc)
    simple = _simple_sequences(separators)
    out = [parts[0]]
    last = len(parts) - 1
    run = bytearray()  # bytes of consecutive \Xhh\ sequences, decoded together
    run_text: list[str] = []  # and their original text, kept if they do not decode
    i = 1
    while i <= last:
        sequence = parts[i]
        if i < last and sequence[:1] == "X" and len(sequence) % 2 and _HEX(sequence, 1):
            run += bytes.fromhex(sequence[1:])
            run_text.append(esc + sequence + esc)
            following = parts[i + 1]
            if following:
                out.append(_decode_hex(run, codec, run_text))
                run, run_text = bytearray(), []
                out.append(following)
            i += 2
            continue
        if run_text:
            out.append(_decode_hex(run, codec, run_text))
            run, run_text = bytearray(), []
        if i == last:  # no closing escape character: not a sequence
            out.append(esc + sequence)
            break
        known = simple.get(sequence)
        if known is None and sequence[:1] == ".":
            known = _counted(sequence)
        out.append(esc + sequence + esc if known is None else known)
        out.append(parts[i + 1])
        i += 2
    if run_text:
        out.append(_decode_hex(run, codec, run_text))
    return "".join(out)


def _decode_hex(data: bytearray, codec: str, literal: list[str]) -> str:
    try:
        return bytes(data).decode(codec)
    except (UnicodeDecodeError, LookupError):
        return "".join(literal)


@lru_cache(maxsize=64)
def _escape_plan(separators: Separators) -> tuple[re.Pattern[str], dict[int, str]]:
    esc = separators.escape
    table = {
        separators.escape: "E",
        separators.field: "F",
        separators.component: "S",
        separators.subcomponent: "T",
        separators.repetition: "R",
    }
    if separators.truncation:
        table[separators.truncation] = "P"
    translation = {ord(char): f"{esc}{code}{esc}" for char, code in table.items()}
    translation[ord("\n")] = f"{esc}.br{esc}"
    translation[ord("\r")] = f"{esc}.br{esc}"
    specials = re.compile("[" + re.escape("".join(table)) + "\r\n]")
    return specials, translation


def escape(text: str, separators: Separators) -> str:
    """Write one value so that its delimiters survive (HL7 v2.5.1 ch. 2, 2.7.4).

    Line breaks (``\\n``, ``\\r``, ``\\r\\n``) become ``\\.br\\`` (2.7.6), the reverse of what
    :func:`unescape` reads. Text with nothing to escape is returned as it is.
    """
    specials, translation = _escape_plan(separators)
    if specials.search(text) is None:
        return text
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(translation)


__all__ = ["LINE_BREAK", "escape", "unescape"]
