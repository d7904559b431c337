"""Character sets of HL7 v2 messages: MSH-18 to Python codec to DICOM (0008,0005).

HL7 v2.5.1 ch. 2, 2.15.9.18 and Table 0211: MSH-18 names the character set of the message;
empty means ASCII (7-bit); a first repetition names the default set and later ones the sets
switched to by ISO 2022 escapes. python-hl7 decodes before it reads MSH, so it cannot honour
MSH-18; we read MSH-18 from the bytes first, then decode once with the right codec.

Choices, where the standard leaves room:

- A byte order mark wins over MSH-18 (UTF-8, UTF-16); UTF-16 without a BOM is recognised by
  its NUL bytes around ``MSH``.
- ``UNICODE`` alone (Table 0211 does not say which encoding form) is read as UTF-8.
- A name we do not know (``CNS 11643-1992``, a typo) is read with the caller's default, and
  the returned :class:`Charset` says so in ``note``.
- ASCII (declared, or empty MSH-18 with an ASCII default) that holds bytes above 0x7F which
  are valid UTF-8 is read as UTF-8, with a note: UTF-8 is a superset of ASCII, valid UTF-8
  almost never happens by chance, and v2.8 makes UTF-8 the preferred set.
- A message that declares ``8859/1`` but holds UTF-8 (several in our corpus) is read as
  declared: 8859/1 decodes any byte, so it yields mojibake rather than an error. We keep the
  declared reading (the sender's profile can fix it) and add a note.
- Bytes the codec cannot read raise :class:`HL7DecodeError` with their offset, location and the
  charset tried; the listener answers AE and keeps the raw bytes.

DICOM terms follow PS3.3 C.12.1.1.2. Sets without a DICOM term (UTF-16, UTF-32, BIG-5) map to
``ISO_IR 192``: text from them is written to DICOM as UTF-8.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from ...errors import BadValue


@dataclass(frozen=True, slots=True)
class Charset:
    """One row of the MSH-18 table, and (``note``) why it was chosen if MSH-18 said otherwise."""

    name: str  # HL7 Table 0211 value
    codec: str  # Python codec
    dicom: str  # DICOM Specific Character Set defined term
    note: str | None = None


def _row(name: str, codec: str, dicom: str) -> Charset:
    return Charset(name, codec, dicom)


ASCII = _row("ASCII", "ascii", "ISO_IR 6")
UTF_8 = _row("UNICODE UTF-8", "utf-8", "ISO_IR 192")
UTF_16 = _row("UNICODE UTF-16", "utf-16", "ISO_IR 192")

TABLE: dict[str, Charset] = {
    row.name: row
    for row in (
        ASCII,
        _row("8859/1", "latin-1", "ISO_IR 100"),
        _row("8859/2", "iso8859-2", "ISO_IR 101"),
        _row("8859/3", "iso8859-3", "ISO_IR 109"),
        _row("8859/4", "iso8859-4", "ISO_IR 110"),
        _row("8859/5", "iso8859-5", "ISO_IR 144"),
        _row("8859/6", "iso8859-6", "ISO_IR 127"),
        _row("8859/7", "iso8859-7", "ISO_IR 126"),
        _row("8859/8", "iso8859-8", "ISO_IR 138"),
        _row("8859/9", "iso8859-9", "ISO_IR 148"),
        _row("8859/15", "iso8859-15", "ISO_IR 203"),
        _row("ISO IR14", "shift_jis", "ISO_IR 13"),  # JIS X 0201: its single bytes
        _row("ISO IR87", "iso2022_jp", "ISO 2022 IR 87"),
        _row("ISO IR159", "iso2022_jp_2", "ISO 2022 IR 159"),
        _row("KS X 1001", "euc_kr", "ISO 2022 IR 149"),
        _row("GB 18030-2000", "gb18030", "GB18030"),
        _row("BIG-5", "big5", "ISO_IR 192"),
        _row("UNICODE", "utf-8", "ISO_IR 192"),
        UTF_8,
        UTF_16,
        _row("UNICODE UTF-32", "utf-32", "ISO_IR 192"),
    )
}

# Other spellings met in the wild (Python codec names, DICOM terms, ISO names), normalised
# as _key() normalises: upper case, "_" as space, runs of spaces as one.
_ALIASES = {
    "US-ASCII": "ASCII",
    "ISO IR 6": "ASCII",
    "ISO IR6": "ASCII",
    "ISO 646": "ASCII",
    "UTF-8": "UNICODE UTF-8",
    "UTF8": "UNICODE UTF-8",
    "ISO IR 192": "UNICODE UTF-8",
    "UTF-16": "UNICODE UTF-16",
    "UTF-32": "UNICODE UTF-32",
    "LATIN1": "8859/1",
    "LATIN-1": "8859/1",
    "ISO IR 87": "ISO IR87",
    "ISO IR 159": "ISO IR159",
    "ISO IR 14": "ISO IR14",
    "GB18030": "GB 18030-2000",
    "BIG5": "BIG-5",
    "KSX1001": "KS X 1001",
    "EUC-KR": "KS X 1001",
}
for _part, _dicom in (
    ("1", "100"), ("2", "101"), ("3", "109"), ("4", "110"), ("5", "144"), ("6", "127"),
    ("7", "126"), ("8", "138"), ("9", "148"), ("15", "203"),
):  # fmt: skip
    for _alias in (f"8859-{_part}", f"ISO-8859-{_part}", f"ISO8859-{_part}", f"ISO 8859-{_part}"):
        _ALIASES[_alias] = f"8859/{_part}"
    _ALIASES[f"ISO IR {_dicom}"] = f"8859/{_part}"


class HL7DecodeError(BadValue):
    """Bytes that the message's character set cannot read.

    Carries the byte ``position``, the ``charset`` tried and ``lossy_text`` (the message read
    with U+FFFD for the bad bytes), so the listener can still read MSH and answer AE.
    """

    def __init__(
        self, text: str, location: str | None, *, position: int, charset: Charset, lossy_text: str
    ) -> None:
        super().__init__(text, location)
        self.position = position
        self.charset = charset
        self.lossy_text = lossy_text


def _key(name: str) -> str:
    return " ".join(name.upper().replace("_", " ").split())


@lru_cache(maxsize=256)
def charset_for(name: str) -> Charset | None:
    """The table row for an MSH-18 value or a common alias; None if unknown; ASCII if empty."""
    key = _key(name)
    if not key:
        return ASCII
    return TABLE.get(key) or TABLE.get(_ALIASES.get(key, ""))


def codec_for(name: str) -> str:
    """The Python codec for an MSH-18 value; ASCII's if unknown (for escaped hex bytes)."""
    found = charset_for(name)
    return found.codec if found else "ascii"


_MSH_AT_LINE_START = re.compile(rb"(?:^|[\r\n])MSH")


def msh_line(raw: bytes) -> str | None:
    """The first MSH segment, read from the bytes before any decoding (latin-1: one
    character per byte, so positions stay exact); None if there is no MSH.

    MSH-3/4 (which profile) and MSH-18 (which codec) must be known before decoding.
    """
    found = _MSH_AT_LINE_START.search(raw, 0, 1 << 20)
    if found is None:
        return None
    start = found.end() - 3
    end = len(raw)
    for line_end in (b"\r", b"\n"):
        at = raw.find(line_end, start, end)
        if at >= 0:
            end = at
    line = raw[start:end].decode("latin-1")
    return line if len(line) >= 8 else None


def _msh18(raw: bytes) -> list[str] | None:
    """MSH-18's repetitions, read from the bytes of the first MSH; None if there is no MSH."""
    line = msh_line(raw)
    if line is None:
        return None
    fields = line.split(line[3])
    if len(fields) < 18:
        return []
    encoding = fields[1]
    repetition = encoding[1:2] or "~"
    values = fields[17].split(repetition)
    if encoding[2:3] and encoding[2] in fields[17]:  # escaped, as "8859\T\1" if "/" separates
        from .escape import unescape  # here, not above: separators.py imports this module
        from .separators import Separators

        chars = line[3] + encoding + "^~\\&"[len(encoding) :]
        if len(set(chars)) == len(chars) <= 6:
            field, component, repeat, escape, subcomponent = (chars[i] for i in range(5))
            separators = Separators(
                field, component, repeat, escape, subcomponent, chars[5:] or None
            )
            values = [unescape(value, separators) for value in values]
    return [value.strip() for value in values]


def read_charset(raw: bytes) -> str | None:
    """MSH-18's first repetition, read before decoding; None when absent or empty."""
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[3:]
    found = _msh18(raw)
    return found[0] if found and found[0] else None


def _declared(repetitions: list[str] | None, default: Charset) -> Charset:
    """The charset MSH-18 asks for, or ``default`` (with a note if MSH-18 was not understood)."""
    names = repetitions or []
    if not any(names):
        return default
    first = charset_for(names[0]) if names[0] else default
    if first is None:
        return replace(default, note=f"MSH-18 {names[0]!r} is unknown: read as {default.name}")
    if first.codec == "ascii":
        # ISO 2022: ASCII until an escape switches to a later set (HL7 v2.5.1 ch. 2, 2.15.9.18)
        for name in names[1:]:
            found = charset_for(name)
            if found is not None and found.codec.startswith("iso2022"):
                return found
    return first


def _bom(raw: bytes) -> tuple[bytes, Charset] | None:
    if raw.startswith(codecs.BOM_UTF8):
        return raw[3:], UTF_8
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return raw, UTF_16
    if raw.startswith(b"M\x00S\x00H\x00"):
        return raw, replace(UTF_16, codec="utf-16-le", note="UTF-16 (LE) without a BOM")
    if raw.startswith(b"\x00M\x00S\x00H"):
        return raw, replace(UTF_16, codec="utf-16-be", note="UTF-16 (BE) without a BOM")
    return None


def decode(raw: bytes, default: str = "ASCII") -> tuple[str, Charset]:
    """Decode a message (or batch): BOM first, then MSH-18, then ``default`` (the sender's).

    ``default`` is an MSH-18 name (``"8859/1"``) from the sender's profile; an unknown default
    is a configuration error (``ValueError``). Undecodable bytes raise :class:`HL7DecodeError`.
    """
    fallback = charset_for(default)
    if fallback is None:
        raise ValueError(f"unknown default character set {default!r}")
    with_bom = _bom(raw)
    if with_bom is not None:
        raw, charset = with_bom
    else:
        charset = _declared(_msh18(raw), fallback)
    try:
        text = raw.decode(charset.codec)
    except UnicodeDecodeError as exc:
        if charset.codec == "ascii":
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                said = "MSH-18 says ASCII" if read_charset(raw) else "MSH-18 is empty"
                return text, replace(UTF_8, note=f"{said} but the bytes are UTF-8: read as UTF-8")
        raise _decode_error(raw, charset, exc) from None
    if charset.codec in _SINGLE_BYTE and not raw.isascii() and _is_utf8(raw):
        note = f"declared {charset.name} but the bytes are valid UTF-8: the text may be mojibake"
        charset = replace(charset, note=note)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text, charset


_SINGLE_BYTE = frozenset(row.codec for row in TABLE.values() if row.name.startswith("8859/"))


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_error(raw: bytes, charset: Charset, exc: UnicodeDecodeError) -> HL7DecodeError:
    position = exc.start
    bad = raw[position : position + 4].hex(" ")
    location = _location(raw, position) if charset.codec[:6] != "utf-16" else None
    where = f" ({location})" if location else ""
    return HL7DecodeError(
        f"bytes {bad} at offset {position}{where} are not valid {charset.name} "
        f"(codec {charset.codec}): {exc.reason}",
        location,
        position=position,
        charset=charset,
        lossy_text=raw.decode(charset.codec, errors="replace"),
    )


def _location(raw: bytes, position: int) -> str | None:
    """The HL7 address (``PID.5``) of a byte, counting separators in the bytes before it."""
    line_start = max(raw.rfind(b"\r", 0, position), raw.rfind(b"\n", 0, position)) + 1
    line = raw[line_start:position].decode("latin-1")
    if len(line) < 3:
        return None
    msh = _MSH_AT_LINE_START.search(raw)
    separator = chr(raw[msh.end()]) if msh and msh.end() < len(raw) else "|"
    name = line[:3]
    count = line.count(separator)
    if count == 0:
        return name
    return f"{name}.{count + 1 if name in ('MSH', 'BHS', 'FHS') else count}"


def encode(text: str, charset: Charset | str, errors: str = "replace") -> bytes:
    """Encode an answer in the sender's character set (an ACK goes back as MSH-18 says).

    Characters the set cannot hold become ``?`` unless ``errors="strict"`` is asked for.
    """
    if isinstance(charset, str):
        found = charset_for(charset)
        if found is None:
            raise ValueError(f"unknown character set {charset!r}")
        charset = found
    return text.encode(charset.codec, errors=errors)


__all__ = [
    "ASCII",
    "TABLE",
    "UTF_8",
    "Charset",
    "HL7DecodeError",
    "charset_for",
    "codec_for",
    "decode",
    "encode",
    "msh_line",
    "read_charset",
]
