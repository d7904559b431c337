"""From text to segments: line endings, separators, what is repaired and what is refused."""

from __future__ import annotations

import pytest

from pacsbridge.errors import BadValue
from pacsbridge.formats.hl7v2 import HL7ParseError, Separators, parse_message, split_batch

from .samples import BATCH, ORM_O01, text


def names(message) -> list[str]:
    return [segment.name for segment in message.segments]


@pytest.mark.parametrize("end", ["\r", "\n", "\r\n"])
def test_segments_may_end_with_cr_lf_or_crlf(end):
    message = parse_message(end.join(ORM_O01) + end)
    assert names(message) == ["MSH", "PID", "PV1", "ORC", "OBR"]
    assert message.get("OBR.25") == "CT"
    assert message.notes == []


def test_mixed_endings_blank_lines_and_no_final_end():
    raw = "\n\r\n" + ORM_O01[0] + "\r\n" + ORM_O01[1] + "\n\n" + ORM_O01[2] + "\r\r" + ORM_O01[3]
    message = parse_message(raw)
    assert names(message) == ["MSH", "PID", "PV1", "ORC"]
    assert message.get("ORC.2") == "ORD-2025-001"


def test_leading_bom_whitespace_and_mllp_bytes_are_skipped():
    message = parse_message("\ufeff \x0b\r\n" + text(ORM_O01))
    assert message.control_id == "MSG001"


def test_a_line_that_starts_no_segment_is_joined_to_the_one_before():
    wrapped = (
        "MSH|^~\\&|A|B|C|D|1||ORM^O01|1|P|2.3\r"
        "PID|1||42||VEREIN BERNBURG UND \rUMGEBUNG^E.V.||20200101\n"
        "OBR|1|||X|(608)258-\n8866|\r"
    )
    message = parse_message(wrapped)
    assert names(message) == ["MSH", "PID", "OBR"]
    assert message.get("PID.5.1") == "VEREIN BERNBURG UND UMGEBUNG"
    assert message.get("PID.7") == "20200101"
    assert message.get("OBR.5") == "(608)258-8866"
    assert message.notes == [
        "line 3 starts no segment: joined to PID",
        "line 5 starts no segment: joined to OBR",
    ]


def test_a_segment_name_is_three_upper_case_letters_or_digits():
    message = parse_message("MSH|^~\\&|A|B|C|D|1||ORU^R01|1|P|2.5\rZ01|x\rNTE\rNte|y\r")
    assert names(message) == ["MSH", "Z01", "NTE"]
    assert message.segment("NTE").raw_field(1) == "Nte"  # a line joined to a bare name
    assert parse_message("MSH|^~\\&|A\rNTE\r").segment("NTE").fields_count == 0


def test_five_encoding_characters_declare_the_truncation_character():
    message = parse_message("MSH|^~\\&#|A|B|C|D|1||ORU^R01|1|P|2.7\rOBX|1|ST|X||abc#\r")
    assert message.separators == Separators(truncation="#")
    assert message.get("OBX.5") == "abc#"


def test_a_doubled_escape_character_in_msh2_is_read_as_one():
    message = parse_message("MSH|^~\\\\&|A|B|C|D|1||ADT^A01|1|P|2.6\rPID|1||7^^^H&X||A\\T\\B\r")
    assert message.separators == Separators()
    assert message.msh.raw_field(2) == "^~\\\\&"  # as written
    assert message.get("PID.3.4.2") == "X"
    assert message.get("PID.5") == "A&B"
    assert message.notes == ["MSH-2 '^~\\\\\\\\&' doubles the escape character: read as one"]


def test_missing_encoding_characters_take_their_defaults():
    message = parse_message("MSH|^~|A|B|C|D|1||ADT^A01|1|P|2.1\rPID|1||7&8\\F\\\r")
    assert message.separators == Separators()
    assert message.get("PID.3.1.2") == "8|"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("   \r\n", "empty"),
        ("PID|1||7\r", "does not start with MSH"),
        ("FHS|^~\\&|A\rMSH|^~\\&|A\r", "split_batch"),
        ("MSH", "field separator"),
        ("MSH\r", "field separator"),
        ("MSHA^~\\&A", "no usable separators"),
        ("MSH|^^\\&|A|B\r", "no usable separators"),
        ("MSH|^~\\& |A|B\r", "no usable separators"),
        ("MSH|^~\\&#!$|A\r", "more than 5"),
    ],
)
def test_unreadable_msh_raises_a_parse_error_saying_so(raw, reason):
    with pytest.raises(HL7ParseError, match=reason) as caught:
        parse_message(raw)
    assert caught.value.msh_readable is False
    assert isinstance(caught.value, BadValue)
    assert caught.value.location.startswith("MSH")


def test_split_batch_drops_the_envelope():
    messages = split_batch(text(BATCH))
    assert messages == [text(BATCH[2:4]), text(BATCH[4:6])]
    assert [parse_message(m).control_id for m in messages] == ["B-1", "B-2"]


def test_split_batch_without_trailers_or_envelope():
    assert split_batch(text(BATCH[:6])) == [text(BATCH[2:4]), text(BATCH[4:6])]
    assert split_batch("\n".join(BATCH[2:6])) == [text(BATCH[2:4]), text(BATCH[4:6])]
    assert split_batch(text(ORM_O01)) == [text(ORM_O01)]


def test_an_empty_batch_has_no_messages():
    assert split_batch(text([BATCH[0], BATCH[1], "BTS|0", "FTS|1"])) == []
    assert split_batch("") == []


def test_text_before_any_header_is_refused():
    with pytest.raises(HL7ParseError, match="before the first MSH") as caught:
        split_batch("hello\r" + text(ORM_O01))
    assert caught.value.msh_readable is False


def test_lines_after_a_trailer_are_dropped():
    assert split_batch(text(BATCH[2:4]) + "BTS|1\rjunk\r") == [text(BATCH[2:4])]
