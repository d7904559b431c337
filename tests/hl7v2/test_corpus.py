"""Every message of the shared HL7 corpus is answered over MLLP, and every ACK is valid.

The corpus (real messages published by other projects, see its SOURCES.md) is read where
it lies, never copied. Each file gets AA, AE or AR; never a dropped connection.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from tests.hl7v2.test_receive import mllp_exchange


def acks_of(text: str) -> list[str]:
    """The ACK messages in an answer (one, or several in a BHS/BTS batch)."""
    acks: list[list[str]] = []
    for segment in (s for s in text.split("\r") if s):
        if segment.startswith("MSH"):
            acks.append([segment])
        elif acks and not segment.startswith(("BTS", "FTS")):
            acks[-1].append(segment)
    return ["\r".join(a) for a in acks]


CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "hl7-corpus"
FILES = sorted(CORPUS.rglob("*.hl7")) if CORPUS.is_dir() else []
# hl7apy validates strictly from v2.3.1 on; its v2.2/v2.3 tables know no ACK structure,
# so there it only parses (tolerant), which still checks segments and field counts.
STRICT_VERSIONS = ("2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8")
TOLERANT_VERSIONS = ("2.2", "2.3")


def test_the_corpus_is_there():
    assert len(FILES) >= 80, f"expected the shared HL7 corpus at {CORPUS}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_message_is_answered_with_a_valid_ack(server, path: Path):
    raw = path.read_bytes().replace(b"\x0b", b"").replace(b"\x1c", b"")
    ack = mllp_exchange(server.mllp_port, raw)
    text = ack.decode("utf-8", "replace")
    acks = acks_of(text)
    assert acks, f"no ACK in {text!r}"
    for one in acks:
        segments = [s for s in one.split("\r") if s]
        msa = next(s for s in segments if s.startswith("MSA"))
        assert msa.split(msa[3])[1] in ("AA", "AE", "AR", "CA", "CE", "CR"), one
        fields = segments[0].split(segments[0][3])
        version = fields[11].split("^")[0]
        if len(fields[1]) == 5:  # v2.7's truncation character, which hl7apy cannot read
            segments[0] = segments[0].replace(fields[1], fields[1][:4], 1)
        if version in STRICT_VERSIONS:
            message = parse_message("\r".join(segments), validation_level=VALIDATION_LEVEL.STRICT)
            assert message.validate(), one
        elif version in TOLERANT_VERSIONS:
            parse_message("\r".join(segments), validation_level=VALIDATION_LEVEL.TOLERANT)
