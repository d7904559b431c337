"""Oracle: every file of the shared HL7 corpus, read by us and by python-hl7, must agree.

The corpus (``/work/shared/hl7-corpus``, see its SOURCES.md) holds real messages from other
projects; it is read where it lies, never copied here. python-hl7 (``hl7.parse``) is given
the same decoded text with segment ends normalised to CR, as it requires; for every segment,
field, repetition, component and subcomponent it reads, our raw (escaped) text must be the
same. Where we read a message differently on purpose, our parser says so in
``Message.notes``, and the comparison is made again with python-hl7 reading what we read:

- a line that starts no segment (a bare CR inside PID-5, a field wrapped over two lines, a
  PDF paste) is joined to the segment before it; python-hl7 makes a bogus segment of it;
- MSH-2 ``^~\\\\&`` (escape character doubled): we read ``\\`` as the escape character and
  ``&`` as the subcomponent separator; python-hl7 takes ``\\`` for both.

Files python-hl7 cannot parse at all are skipped for the comparison, but we must still parse
them or raise HL7ParseError/HL7DecodeError, never anything else.
"""

from __future__ import annotations

import re
from pathlib import Path

import hl7
import pytest

from pacsbridge.formats.hl7v2 import (
    HL7DecodeError,
    HL7ParseError,
    Message,
    decode,
    parse_message,
    split_batch,
)
from pacsbridge.formats.hl7v2.message import HEADER_SEGMENTS

CORPUS = Path(__file__).parents[3].parent / "shared" / "hl7-corpus"
FILES = sorted(CORPUS.rglob("*.hl7")) if CORPUS.is_dir() else []


def corpus_params() -> list:
    if not FILES:
        reason = f"the shared HL7 corpus is not at {CORPUS}"
        return [pytest.param(None, marks=pytest.mark.skip(reason=reason), id="no-corpus")]
    return [pytest.param(path, id=str(path.relative_to(CORPUS))) for path in FILES]


def for_python_hl7(text: str) -> str:
    """Segment ends as python-hl7 needs them: CR only, no blank lines."""
    return "\r".join(line for line in re.split(r"\r\n|\r|\n", text) if line.strip())


def tree(node: object, depth: int = 0) -> list:
    """python-hl7's field as repetitions > components > subcomponents of raw text."""
    if depth == 2:
        return [str(sub) for sub in node]  # type: ignore[attr-defined]
    children = []
    for child in node:  # type: ignore[attr-defined]
        if isinstance(child, str):  # a leaf higher up: one of each level below
            children.append([child] if depth == 1 else [[child]])
        else:
            children.append(tree(child, depth + 1))
    return children


def assert_same(ours: Message, theirs: hl7.Message, where: str) -> int:
    """Compare every part python-hl7 reads; return how many values were compared."""
    compared = 0
    assert [s.name for s in ours.segments] == [str(s[0]) for s in theirs], where
    for number, (segment, their_segment) in enumerate(zip(ours.segments, theirs, strict=True)):
        at = f"{where} segment {number + 1} {segment.name}"
        assert segment.fields_count == len(their_segment) - 1, at
        for n in range(1, len(their_segment)):
            their_field = their_segment[n]
            compared += 1
            if segment.name in HEADER_SEGMENTS and n < 3:  # separators: read whole by both
                as_read = ours.separators.encoding_characters if n == 2 and ours.notes else None
                assert str(their_field) in (segment.raw_field(n), as_read), f"{at}-{n}"
                continue
            assert segment.raw_field(n) == str(their_field), f"{at}-{n}"
            for r, repetition in enumerate(tree(their_field), 1):
                field = segment.field(n, r)
                for c, component in enumerate(repetition, 1):
                    subs_text = ours.separators.subcomponent.join(component)
                    assert field.raw_component(c) == subs_text, f"{at}-{n}[{r}].{c}"
                    for s, sub in enumerate(component, 1):
                        assert field.raw_component(c, s) == sub, f"{at}-{n}[{r}].{c}.{s}"
                        compared += 1
    return compared


def python_hl7_reading_ours(ours: Message) -> str:
    """Our reading as text python-hl7 reads the same way: joined lines, repaired MSH-2."""
    msh, *rest = str(ours).rstrip("\r").split("\r")
    written = msh.split(ours.separators.field, 2)
    written[1] = ours.separators.encoding_characters
    return "\r".join([ours.separators.field.join(written), *rest])


@pytest.mark.parametrize("path", corpus_params())
def test_corpus_file_reads_as_python_hl7_reads_it(path: Path) -> None:
    raw = path.read_bytes()
    try:
        text, _ = decode(raw)
    except HL7DecodeError:
        return  # declared errors are allowed; the listener answers AE
    try:
        messages = split_batch(text)
    except HL7ParseError:
        return
    assert messages, path
    compared = 0
    for index, message_text in enumerate(messages, 1):
        where = f"{path.name} message {index}"
        try:
            ours = parse_message(message_text)
        except HL7ParseError:
            continue
        try:
            theirs = hl7.parse(for_python_hl7(message_text))
        except Exception as exc:  # noqa: BLE001 - python-hl7 fails in many ways on quirks
            pytest.skip(f"python-hl7 cannot parse {where}: {exc!r}")
        same_reading = [s.name for s in ours.segments] == [str(s[0]) for s in theirs] and (
            theirs.separators[1:] == ours.separators.field + ours.separators.repetition
            + ours.separators.component + ours.separators.subcomponent
        )  # fmt: skip
        if not same_reading:
            assert ours.notes, f"{where}: we read it differently without saying why"
            theirs = hl7.parse(python_hl7_reading_ours(ours))
        compared += assert_same(ours, theirs, where)
    assert compared > 0 or not messages


def test_the_corpus_has_the_quirks_we_repair():
    """The known disagreements above come from these files; if they move, revisit the doc."""
    if not FILES:
        pytest.skip(f"the shared HL7 corpus is not at {CORPUS}")
    repaired = {}
    for path in FILES:
        text, _ = decode(path.read_bytes())
        for message_text in split_batch(text):
            notes = parse_message(message_text).notes
            if notes:
                repaired[str(path.relative_to(CORPUS))] = notes
    assert "quirks/orthanctools-carriage-return-CRLF-strayCR.hl7" in repaired
    assert "quirks/lfh-sample_win-CRLF-malformed.hl7" in repaired
    assert all(path.startswith("quirks/") for path in repaired), sorted(repaired)
