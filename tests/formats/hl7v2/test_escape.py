"""Escape sequences (HL7 v2.5.1 ch. 2, 2.7): every kind read, written, and never an error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacsbridge.formats.hl7v2 import Separators, escape, unescape

DEFAULT = Separators()
ODD = Separators("*", ":", ";", "/", "+")


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ("plain", "plain"),
        ("A\\F\\B", "A|B"),
        ("A\\S\\B", "A^B"),
        ("A\\T\\B", "A&B"),
        ("A\\R\\B", "A~B"),
        ("A\\E\\B", "A\\B"),
        ("\\E\\\\E\\", "\\\\"),
        ("\\H\\bold\\N\\ text", "bold text"),
        ("one\\.br\\two", "one\ntwo"),
        ("one\\.sp\\two", "one\ntwo"),
        ("one\\.sp3\\two", "one\n\n\ntwo"),
        ("one\\.sp 2\\two", "one\n\ntwo"),
        ("a\\.sk 3\\b", "a   b"),
        ("a\\.sk\\b", "a b"),
        ("\\.in+4\\indented", "indented"),
        ("\\.ti-2\\x", "x"),
        ("\\.ce\\TITLE", "\nTITLE"),
        ("\\.fi\\a\\.nf\\b", "ab"),
        ("\\.sp 999999999\\", "\n" * 100),  # capped
    ],
)
def test_read(raw, read):
    assert unescape(raw, DEFAULT) == read


@pytest.mark.parametrize(
    "raw",
    [
        "C:\\Temp\\file.txt",  # a Windows path: \Temp\ is no sequence
        "SSAET\\SSAET2",  # no closing escape character
        "{\\rtf1\\ansi \\deff1 text\\par}",  # RTF
        "\\Zlocal\\",  # locally defined: not ours to read
        "\\C2842\\",  # ISO 2022 switches: the message was decoded whole already
        "\\M2442\\",
        "\\XZZ\\",  # not hex
        "\\XABC\\",  # odd number of hex digits
        "\\X\\",
        "\\P\\",  # truncation character, but none declared
        "\\\\",
        "\\",
        "trailing\\",
        "\\.xx\\",
    ],
)
def test_unknown_or_broken_sequences_are_kept_literally(raw):
    assert unescape(raw, DEFAULT) == raw


def test_hex_bytes_are_read_in_the_message_charset():
    assert unescape("\\XC7\\\\XC3\\O", DEFAULT, "latin-1") == "ÇÃO"
    assert unescape("\\XC7C3\\", DEFAULT, "latin-1") == "ÇÃ"
    assert unescape("\\XC3B1\\", DEFAULT, "utf-8") == "ñ"
    assert unescape("\\XC3\\\\XB1\\", DEFAULT, "utf-8") == "ñ"  # one character over two
    assert unescape("\\XC7\\", DEFAULT, "ascii") == "\\XC7\\"  # ASCII has no 0xC7
    assert unescape("\\XC7\\", DEFAULT, "no-such-codec") == "\\XC7\\"
    assert unescape("\\X41\\\\E\\\\X42\\", DEFAULT) == "A\\B"
    assert unescape("\\X41\\x\\X42\\", DEFAULT) == "AxB"
    assert unescape("\\X41\\\\X42", DEFAULT) == "A\\X42"


def test_the_truncation_character_reads_when_declared():
    assert unescape("50\\P\\", Separators(truncation="#")) == "50#"


def test_other_separators():
    assert unescape("a/F/b/S/c/T/d/R/e/E/f", ODD) == "a*b:c+d;e/f"
    assert unescape("a\\F\\b", ODD) == "a\\F\\b"


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("plain", "plain"),
        ("A|B^C&D~E\\F", "A\\F\\B\\S\\C\\T\\D\\R\\E\\E\\F"),
        ("one\ntwo\r\nthree\rfour", "one\\.br\\two\\.br\\three\\.br\\four"),
    ],
)
def test_write(value, written):
    assert escape(value, DEFAULT) == written


def test_write_with_other_separators_and_truncation():
    assert escape("a*b:c/d", ODD) == "a/F/b/S/c/E/d"
    assert escape("50#", Separators(truncation="#")) == "50\\P\\"
    assert escape("50#", DEFAULT) == "50#"


@given(st.text(), st.sampled_from([DEFAULT, ODD, Separators(truncation="#")]))
def test_what_is_written_reads_back(value, separators):
    written = escape(value, separators)
    for char in (separators.field, separators.component, separators.repetition, "\r", "\n"):
        assert char not in written
    expected = value.replace("\r\n", "\n").replace("\r", "\n")
    assert unescape(written, separators) == expected


@given(st.text(alphabet=st.sampled_from("\\XFSTREHN.brspin0123456789ACabz &|^~"), max_size=40))
def test_reading_never_raises(raw):
    assert isinstance(unescape(raw, DEFAULT, "utf-8"), str)
