"""A logged message as the console's tree: decoded as received, fields named."""

from __future__ import annotations

from pathlib import Path

from pacsbridge.console.hl7_tree import message_tree

FIXTURES = Path(__file__).parents[1] / "fixtures" / "hl7"


def test_the_design_orm_becomes_named_segments_and_components():
    tree = message_tree((FIXTURES / "design-orm-o01.hl7").read_bytes())
    assert tree.problem is None
    names = [s.name for s in tree.segments]
    assert names[:2] == ["MSH", "PID"]
    pid = tree.segments[1]
    assert pid.description == "Patient identification"
    name = next(f for f in pid.fields if f.address == "PID-5")
    assert name.name == "Patient name" and name.value == "GARCIA^PEDRO^M"
    assert [(c.address, c.name, c.value) for c in name.components][:2] == [
        ("PID-5.1", "Family name", "GARCIA"), ("PID-5.2", "Given name", "PEDRO")]  # fmt: skip
    msh = tree.segments[0]
    assert [f.value for f in msh.fields[:2]] == ["|", "^~\\&"]  # the separators, unsplit


def test_repetitions_are_numbered_and_escapes_decoded():
    raw = (b"MSH|^~\\&|HIS|H|PB|R|20250101||ADT^A08|C1|P|2.5||||||8859/1\r"
           b"PID|1||A1^^^HIS~B2^^^LAB||P\\T\\REZ^JOS\xc9\r")  # fmt: skip
    tree = message_tree(raw)
    pid = tree.segments[1]
    assert [f.address for f in pid.fields if f.address.startswith("PID-3")] == [
        "PID-3[1]", "PID-3[2]"]  # fmt: skip
    name = next(f for f in pid.fields if f.address == "PID-5")
    assert name.components[0].value == "P&REZ" and name.components[1].value == "JOSÉ"


def test_a_message_that_does_not_parse_is_still_shown_raw():
    tree = message_tree(b"garbage that is no HL7\r")
    assert tree.segments == [] and tree.problem and "garbage" in tree.lines
