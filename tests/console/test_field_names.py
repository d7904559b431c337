"""HL7 field names from hl7apy's tables, in the message's own version."""

from __future__ import annotations

from pacsbridge.console.field_names import field_name, readable


def test_fields_are_named_with_their_components():
    pid3 = field_name("PID", 3, "2.5")
    assert pid3.name == "Patient identifier list" and pid3.datatype == "CX"
    assert pid3.component(1) == "ID number" and pid3.component(4) == "Assigning authority"


def test_the_message_version_names_the_field():
    assert field_name("PID", 5, "2.3").component(3) == "Middle initial or name"
    assert field_name("PID", 5, "2.5").component(3).startswith("Second and further given")


def test_a_segment_newer_than_the_message_is_named_from_a_later_version():
    assert field_name("IPC", 1, "2.3").name == "Accession identifier"


def test_our_z_segment_is_named_and_unknown_ones_are_not():
    assert field_name("ZDS", 1, "2.5").name == "Study Instance UID"
    assert field_name("ZXY", 1, "2.5") is None
    assert field_name("PID", 99, "2.5") is None


def test_names_read_as_words():
    assert readable("MOTHER_S_MAIDEN_NAME") == "Mother's maiden name"
    assert readable("SET_ID_PV1") == "Set ID PV1"
    assert readable("PREFIX_E_G_DR") == "Prefix e.g. dr"
