"""Reading values out of a parsed message: numbering, paths, decoding, MSH helpers."""

from __future__ import annotations

import pytest

from pacsbridge.formats.hl7v2 import Address, Field, Separators, parse_message

from .samples import NON_DEFAULT, ORM_FULL, ORM_O01, text


@pytest.fixture
def orm():
    return parse_message(text(ORM_O01))


@pytest.fixture
def full():
    return parse_message(text(ORM_FULL))


def test_msh_fields_are_numbered_as_the_standard_numbers_them(orm):
    msh = orm.msh
    assert msh.name == "MSH"
    assert msh.raw_field(1) == "|"
    assert msh.raw_field(2) == "^~\\&"
    assert msh.value(2) == "^~\\&"  # read whole, never split or unescaped
    assert msh.value(3) == "HIS"
    assert msh.value(9, 2) == "O01"
    assert msh.fields_count == 12


def test_other_segments_count_fields_after_the_name(orm):
    pid = orm.segment("PID")
    assert pid.value(1) == "1"
    assert pid.raw_field(3) == "1234567890^^^HIS"
    assert pid.value(3) == "1234567890"
    assert pid.value(3, 4) == "HIS"
    assert pid.value(0) == ""  # the name is no field
    assert pid.value(-1) == ""


def test_the_fields_the_order_mapping_reads(orm):
    assert orm.get("PID.3.1") == "1234567890"
    assert orm.get("PID.3.4") == "HIS"
    assert orm.get("PID.5.1") == "GARCIA"
    assert orm.get("PID.5.2") == "PEDRO"
    assert orm.get("PID.7") == "19751022"
    assert orm.get("PID.8") == "M"
    assert orm.get("PID.11.1") == "C/ MAYOR 1"
    assert orm.get("PID.11.2") == "MADRID"
    assert orm.get("PID.11.4") == "28001"
    assert orm.get("ORC.1") == "NW"
    assert orm.get("ORC.2") == "ORD-2025-001"
    assert orm.get("ORC.5") == "SC"
    assert orm.get("OBR.4.1") == "72193"
    assert orm.get("OBR.4.2") == "TC ABDOMEN SIN CONTRASTE"
    # The brief's sender puts the modality at OBR-25, not OBR-24: a profile moves it.
    assert orm.get("OBR.24") == ""
    assert orm.get("OBR.25") == "CT"
    assert orm.get("OBR.28.3") == "MEDISFERA_MWL"


def test_absent_paths_read_as_empty(orm):
    assert orm.get("PID.40") == ""
    assert orm.get("PID.3.9") == ""
    assert orm.get("PID.3.1.2") == ""
    assert orm.get("PID.3[2].1") == ""
    assert orm.get("OBX.5") == ""
    assert orm.get("PID[2].3") == ""
    assert orm.segment("OBX") is None
    assert orm.segment("PID", 2) is None


def test_repetitions_components_and_subcomponents(full):
    assert full.get("PID.3") == "556677"
    assert full.get("PID.3[2].1") == "X1234567"
    assert full.get("PID.3[2].5") == "NI"
    assert full.get("OBR.4.3") == "L"
    assert full.get("OBR.4.3.2") == "LOCAL"
    pid = full.segment("PID")
    ids = pid.repetitions(3)
    assert [f.raw for f in ids] == ["556677^^^CLINICA_NORTE^MR", "X1234567^^^DNI^NI"]
    assert ids[1].component(4) == "DNI"
    assert ids[1].components == ["X1234567", "", "", "DNI", "NI"]
    assert pid.field(3, 2) == ids[1]
    assert pid.field(3, 3).is_empty
    obr = full.segment("OBR")
    assert obr.field(4).subcomponents(3) == ["L", "LOCAL"]
    assert obr.field(4).raw_component(3) == "L&LOCAL"
    assert obr.field(4).raw_component(3, 2) == "LOCAL"
    assert obr.repetitions(5) == []


def test_values_are_unescaped_on_read():
    message = parse_message(
        "MSH|^~\\&|A|B|C|D|20250101||ORU^R01|1|P|2.5\r"
        "OBX|1|FT|X||Line one\\.br\\A \\T\\ B \\F\\ C\\S\\D\\R\\E \\E\\||||||F\r"
    )
    assert message.get("OBX.5") == "Line one\nA & B | C^D~E \\"
    assert (
        message.segment("OBX").raw_field(5) == "Line one\\.br\\A \\T\\ B \\F\\ C\\S\\D\\R\\E \\E\\"
    )
    assert message.segment("OBX").field(5).components == ["Line one\nA & B | C^D~E \\"]


def test_hex_escapes_read_with_the_message_codec():
    segments = [
        "MSH|^~\\&|A|B|C|D|20250101||ADT^A08|1|P|2.5|||||ESP|{charset}",
        "PID|1||7||\\XD1\\U\\XD1\\EZ",
    ]
    latin = parse_message(text(segments, charset="8859/1"))
    assert latin.codec == "latin-1"
    assert latin.get("PID.5") == "ÑUÑEZ"
    utf8 = parse_message(text(segments, charset="UNICODE UTF-8"))
    assert utf8.get("PID.5") == "\\XD1\\U\\XD1\\EZ"  # D1 alone is no UTF-8: kept as written
    given = parse_message(text(segments, charset=""), codec="latin-1")
    assert given.get("PID.5") == "ÑUÑEZ"


def test_msh_helpers(full):
    assert full.control_id == "CN-7731"
    assert full.message_code == "ORM"
    assert full.trigger_event == "O01"
    assert full.structure == "ORM_O01"
    assert full.version == "2.5.1"
    assert full.processing_id == "P"
    assert full.sending_application == "RIS"
    assert full.sending_facility == "CLINICA_NORTE"
    assert full.receiving_application == "PACSBRIDGE"
    assert full.receiving_facility == "PACS"
    assert full.charset == "8859/1"
    assert full.accept_ack_type == "AL"
    assert full.application_ack_type == "NE"


def test_segments_in_order_with_z_segments(full):
    assert [s.name for s in full.segments] == ["MSH", "PID", "PV1", "ORC", "OBR", "ZDS"]
    assert len(full) == 6
    assert [s.name for s in full] == [s.name for s in full.segments]
    assert full.get("ZDS.1") == "1.2.826.0.1.3680043.8.498.1"
    assert full.all("ZDS")[0].value(1, 4) == "DICOM"
    assert full.all("OBX") == []


def test_several_segments_of_a_name():
    message = parse_message(
        "MSH|^~\\&|A|B|C|D|1||ORU^R01|1|P|2.5\rOBX|1|ST|A||first\rOBX|2|ST|B||second\r"
    )
    assert [s.value(5) for s in message.all("OBX")] == ["first", "second"]
    assert message.get("OBX[2].5") == "second"
    assert message.get(Address.parse("OBX[2].3")) == "B"
    assert message.segment("OBX", 2).value(1) == "2"


def test_str_gives_the_message_back(full):
    assert str(full) == text(ORM_FULL)
    assert str(full.segment("PID")) == ORM_FULL[1]
    assert str(full.msh) == ORM_FULL[0]


def test_non_default_delimiters():
    message = parse_message(text(NON_DEFAULT))
    assert message.separators == Separators("*", ":", ";", "/", "+")
    assert message.msh.raw_field(1) == "*"
    assert message.msh.raw_field(2) == ":;/+"
    assert message.message_code == "ADT"
    assert message.trigger_event == "A08"
    assert message.get("PID.3") == "A1"
    assert message.get("PID.3[2].4") == "OTHER"
    assert message.get("PID.5.2") == "ANA"
    assert message.get("PID.11.1") == "C. LARGA 4 * BAJO"
    assert message.get("PID.11.2.2") == "CENTRO"


def test_field_null_and_equality():
    message = parse_message('MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5\rPID|1||7||""|""\r')
    name = message.segment("PID").field(5)
    assert name.is_null
    assert not name.is_empty
    assert name == message.segment("PID").field(6)
    assert name != message.segment("PID").field(3)
    assert str(name) == '""'
    assert isinstance(name, Field)


def test_an_address_that_is_no_address_is_a_value_error(orm):
    with pytest.raises(ValueError, match="not an HL7 address"):
        orm.get("pid-3")


def test_a_message_without_repetitions_reads_as_one_with_them():
    """Plain messages take a shortcut; it must read exactly what the full path reads."""
    plain = parse_message(text(ORM_O01))
    full = parse_message(text([*ORM_O01, "ZZZ|a~b&c\\E\\"]))
    assert plain._reading.plain and not full._reading.plain
    for ours, theirs in zip(plain.segments, full.segments, strict=False):
        for n in range(ours.fields_count + 2):
            for path in [(1, 1, 1), (2, 1, 1), (4, 1, 1), (1, 2, 1), (1, 1, 2), (9, 9, 9)]:
                assert ours.value(n, *path) == theirs.value(n, *path), (ours.name, n, path)
                c, s, r = path
                address = f"{ours.name}.{n}[{r}].{c}.{s}" if n else None
                if address:
                    assert plain.get(address) == full.get(address) == ours.value(n, *path)
