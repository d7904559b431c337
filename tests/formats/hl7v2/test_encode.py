"""Writing segments and messages: nesting, escaping, MSH, and reading back what we wrote."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pacsbridge.formats.hl7v2 import (
    Repetitions,
    Separators,
    encode_field,
    encode_message,
    encode_segment,
    parse_message,
)

ODD = Separators("*", ":", ";", "/", "+")


def test_an_ack():
    msh = encode_segment(
        "MSH",
        {
            3: "PACSBRIDGE",
            4: "PACS",
            5: "HIS",
            6: "HOSPITAL_A",
            7: "20250315120001",
            9: ["ACK", "O01", "ACK"],
            10: "ACK-MSG001",
            11: "P",
            12: "2.5",
        },
    )
    msa = encode_segment("MSA", ["AE", "MSG001", "Missing PID-3 | patient id"])
    err = encode_segment("ERR", [None, ["PID", 1, 3], ["101", "Required field missing", "HL70357"]])
    message = encode_message([msh, msa, err])
    assert message == (
        "MSH|^~\\&|PACSBRIDGE|PACS|HIS|HOSPITAL_A|20250315120001||ACK^O01^ACK|ACK-MSG001|P|2.5\r"
        "MSA|AE|MSG001|Missing PID-3 \\F\\ patient id\r"
        "ERR||PID^1^3|101^Required field missing^HL70357\r"
    )
    parsed = parse_message(message)
    assert parsed.structure == "ACK"
    assert parsed.get("MSA.3") == "Missing PID-3 | patient id"
    assert parsed.get("ERR.2.3") == "3"


def test_nesting_means_components_subcomponents_and_marked_repetitions():
    assert encode_field("a") == "a"
    assert encode_field(None) == ""
    assert encode_field(7) == "7"
    assert encode_field(["a", "b"]) == "a^b"
    assert encode_field(["a", ["b", "c"], None, "d"]) == "a^b&c^^d"
    assert encode_field(Repetitions(["a", ["b", "c"]])) == "a~b^c"
    assert encode_field(Repetitions([])) == ""


def test_trailing_empties_are_left_out():
    assert encode_segment("PV1", ["1", "O", None, "", []]) == "PV1|1|O"
    assert encode_field(["a", "", None]) == "a"
    assert encode_field(["a", ["b", "", None]]) == "a^b"
    assert encode_segment("NTE", []) == "NTE"
    assert encode_segment("MSH", {}) == "MSH|^~\\&"


def test_every_leaf_is_escaped():
    assert encode_segment("OBX", [1, "TX", None, None, "A&B^C~D\\E|F\nG"]) == (
        "OBX|1|TX|||A\\T\\B\\S\\C\\R\\D\\E\\E\\F\\F\\.br\\G"
    )
    assert encode_field(["a^b", ["c&d"]]) == "a\\S\\b^c\\T\\d"


def test_msh_fields_one_and_two_come_from_the_separators():
    assert encode_segment("MSH", [None, None, "ME"], ODD) == "MSH*:;/+*ME"
    assert encode_segment("MSH", ["*", ":;/+", "ME"], ODD) == "MSH*:;/+*ME"
    with pytest.raises(ValueError, match="MSH-1"):
        encode_segment("MSH", ["PACSBRIDGE", "PACS"])


def test_other_separators():
    segment = encode_segment(
        "PID", [1, None, Repetitions([["7", "", "", "H"], "8"]), None, "a*b"], ODD
    )
    assert segment == "PID*1**7:::H;8**a/F/b"


def test_values_must_be_text_or_numbers():
    with pytest.raises(TypeError):
        encode_segment("PID", [1.5])


text_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
components = st.lists(st.one_of(text_values, st.lists(text_values, max_size=3)), max_size=4)


@given(
    st.lists(st.one_of(text_values, components), max_size=8),
    st.sampled_from([Separators(), ODD]),
)
def test_what_we_write_reads_back(fields, separators):
    message = encode_message(
        [encode_segment("MSH", {3: "T", 9: ["ORU", "R01"], 10: "1"}, separators),
         encode_segment("OBX", fields, separators)]
    )  # fmt: skip
    obx = parse_message(message).segment("OBX")
    for number, value in enumerate(fields, 1):
        if isinstance(value, str):
            assert obx.value(number) == value.replace("\r\n", "\n").replace("\r", "\n")
            continue
        for c, component in enumerate(value, 1):
            subs = component if isinstance(component, list) else [component]
            for s, sub in enumerate(subs, 1):
                assert obx.value(number, c, s) == sub.replace("\r\n", "\n").replace("\r", "\n")
