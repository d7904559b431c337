"""Character sets: MSH-18 read from the bytes, decoding, the DICOM term, and our answers."""

from __future__ import annotations

import codecs

import pytest

from pacsbridge.errors import BadValue
from pacsbridge.formats.hl7v2 import (
    HL7DecodeError,
    charset_for,
    decode,
    parse_message,
    read_charset,
)
from pacsbridge.formats.hl7v2.charsets import TABLE, encode

from .samples import ADT_A01_SPANISH, text


def spanish(charset: str, codec: str) -> bytes:
    return text(ADT_A01_SPANISH, charset=charset).encode(codec)


@pytest.mark.parametrize(
    ("name", "codec", "dicom"),
    [
        ("", "ascii", "ISO_IR 6"),
        ("ASCII", "ascii", "ISO_IR 6"),
        ("8859/1", "latin-1", "ISO_IR 100"),
        ("8859/2", "iso8859-2", "ISO_IR 101"),
        ("8859/5", "iso8859-5", "ISO_IR 144"),
        ("8859/7", "iso8859-7", "ISO_IR 126"),
        ("8859/8", "iso8859-8", "ISO_IR 138"),
        ("8859/9", "iso8859-9", "ISO_IR 148"),
        ("8859/15", "iso8859-15", "ISO_IR 203"),
        ("UNICODE UTF-8", "utf-8", "ISO_IR 192"),
        ("ISO IR87", "iso2022_jp", "ISO 2022 IR 87"),
        ("KS X 1001", "euc_kr", "ISO 2022 IR 149"),
        ("GB 18030-2000", "gb18030", "GB18030"),
        ("UNICODE", "utf-8", "ISO_IR 192"),
        (" unicode  utf-8 ", "utf-8", "ISO_IR 192"),
        ("ISO-8859-1", "latin-1", "ISO_IR 100"),
        ("ISO_IR 100", "latin-1", "ISO_IR 100"),
        ("utf8", "utf-8", "ISO_IR 192"),
    ],
)
def test_the_design_table(name, codec, dicom):
    found = charset_for(name)
    assert (found.codec, found.dicom) == (codec, dicom)


def test_every_codec_of_the_table_exists():
    for row in TABLE.values():
        codecs.lookup(row.codec)


def test_unknown_names_are_none():
    assert charset_for("CNS 11643-1992") is None
    assert charset_for("KLINGON") is None


def test_msh18_is_read_from_the_bytes_before_decoding():
    assert read_charset(spanish("8859/1", "latin-1")) == "8859/1"
    assert read_charset(spanish("UNICODE UTF-8", "utf-8")) == "UNICODE UTF-8"
    assert read_charset(spanish("", "utf-8")) is None
    assert read_charset(spanish(" ", "utf-8")) is None
    assert read_charset(b"MSH|^~\\&|A|B\r") is None
    assert read_charset(b"not hl7") is None
    assert read_charset(codecs.BOM_UTF8 + spanish("8859/15", "utf-8")) == "8859/15"
    assert read_charset(b"FHS|^~\\&\rBHS|^~\\&\r" + spanish("8859/1", "latin-1")) == "8859/1"
    nine = b"MSH*:;/+*A*B*C*D*1**ADT:A01*1*P*2.5*****ESP*8859/9;ISO IR87*\n"
    assert read_charset(nine) == "8859/9"


@pytest.mark.parametrize(
    ("charset", "codec"),
    [("8859/1", "latin-1"), ("8859/15", "iso8859-15"), ("UNICODE UTF-8", "utf-8")],
)
def test_spanish_names_decode_in_their_declared_charset(charset, codec):
    decoded, found = decode(spanish(charset, codec))
    assert found.name == charset
    assert found.note is None
    message = parse_message(decoded, codec=found.codec)
    assert message.get("PID.5.1") == "NÚÑEZ"
    assert message.get("PID.5.2") == "MARÍA JOSÉ"
    assert message.get("PID.11.3") == "LOGROÑO"


def test_an_empty_msh18_uses_the_senders_default():
    decoded, found = decode(spanish("", "latin-1"), default="8859/1")
    assert found.name == "8859/1"
    assert "NÚÑEZ" in decoded


def test_ascii_holding_utf8_is_read_as_utf8_with_a_note():
    decoded, found = decode(spanish("", "utf-8"))
    assert found.codec == "utf-8"
    assert found.note == "MSH-18 is empty but the bytes are UTF-8: read as UTF-8"
    decoded, found = decode(spanish("ASCII", "utf-8"))
    assert found.note == "MSH-18 says ASCII but the bytes are UTF-8: read as UTF-8"
    assert "NÚÑEZ" in decoded


def test_bytes_the_charset_cannot_read_raise_with_position_and_location():
    raw = spanish("", "latin-1")
    with pytest.raises(HL7DecodeError) as caught:
        decode(raw)
    error = caught.value
    assert isinstance(error, BadValue)
    assert error.position == raw.index("Ú".encode("latin-1"))
    assert error.location == "PID.5"
    assert error.charset.name == "ASCII"
    assert "PID.5" in error.text and "ASCII" in error.text
    assert parse_message(error.lossy_text).control_id == "ADT0042"


def test_utf8_declared_but_latin1_sent_raises():
    raw = spanish("UNICODE UTF-8", "latin-1")
    with pytest.raises(HL7DecodeError) as caught:
        decode(raw)
    assert caught.value.charset.codec == "utf-8"
    assert caught.value.location == "PID.5"


def test_latin1_declared_but_utf8_sent_is_mojibake_with_a_note():
    decoded, found = decode(spanish("8859/1", "utf-8"))
    assert found.codec == "latin-1"
    assert "mojibake" in found.note
    assert "NÃ\x9a" in decoded


def test_an_unknown_msh18_uses_the_default_with_a_note():
    decoded, found = decode(spanish("KLINGON", "latin-1"), default="8859/1")
    assert found.name == "8859/1"
    assert "KLINGON" in found.note
    assert "NÚÑEZ" in decoded


def test_a_bom_wins_over_msh18():
    decoded, found = decode(codecs.BOM_UTF8 + spanish("8859/1", "utf-8"))
    assert found.codec == "utf-8"
    assert decoded.startswith("MSH|")
    decoded, found = decode(spanish("UNICODE UTF-16", "utf-16"))
    assert found.name == "UNICODE UTF-16"
    assert decoded.startswith("MSH|") and "NÚÑEZ" in decoded
    decoded, found = decode(spanish("UNICODE UTF-16", "utf-16-le"))
    assert found.codec == "utf-16-le" and "NÚÑEZ" in decoded


def test_iso_2022_alternates_in_later_repetitions():
    raw = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5|||||JPN|~ISO IR87\rPID|1||7||山田^太郎\r"
    decoded, found = decode(raw.encode("iso2022_jp"))
    assert found.name == "ISO IR87"
    assert "山田" in decoded


def test_an_unknown_default_is_a_configuration_error():
    with pytest.raises(ValueError, match="KLINGON"):
        decode(b"MSH|^~\\&|A\r", default="KLINGON")


def test_answers_are_encoded_in_the_senders_charset():
    assert encode("NÚÑEZ", charset_for("8859/1")) == "NÚÑEZ".encode("latin-1")
    assert encode("NÚÑEZ", "UNICODE UTF-8") == "NÚÑEZ".encode()
    assert encode("山田", "8859/1") == b"??"
    with pytest.raises(UnicodeEncodeError):
        encode("山田", "8859/1", errors="strict")
    with pytest.raises(ValueError):
        encode("x", "KLINGON")


def test_an_escaped_msh18_is_read_unescaped():
    raw = "MSH|^~/&|A|B|C|D|1||ADT^A08|1|P|2.5|||||ESP|8859/S/1\rPID|1||7||NÚÑEZ\r"
    assert read_charset(raw.encode("latin-1")) == "8859^1"
    raw = "MSH|^~\\/|A|B|C|D|1||ADT^A08|1|P|2.5|||||ESP|8859\\T\\1\rPID|1||7||NÚÑEZ\r"
    decoded, found = decode(raw.encode("latin-1"))
    assert found.name == "8859/1"
    assert parse_message(decoded).codec == "latin-1"
