"""Property tests: whatever bytes arrive, only our declared errors come out.

Random bytes and mutations of valid messages (bytes inserted, deleted, replaced; random
separators) go through the whole way in: ``MllpFramer.feed`` in random chunkings, ``decode``,
``split_batch``, ``parse_message`` and every reader of the message. Allowed errors:
FrameTooLarge, HL7DecodeError, HL7ParseError.

The CI run is short. For a long fuzz run:
``PACSBRIDGE_FUZZ_EXAMPLES=200000 pytest tests/formats/hl7v2/test_fuzz.py -q``.
"""

from __future__ import annotations

import os
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pacsbridge.formats.hl7v2 import (
    FrameTooLarge,
    HL7DecodeError,
    HL7ParseError,
    Message,
    MllpFramer,
    Separators,
    decode,
    encode_message,
    encode_segment,
    frame,
    parse_message,
    split_batch,
)

from .samples import ADT_A01_SPANISH, BATCH, NON_DEFAULT, ORM_FULL, ORM_O01, text

EXAMPLES = int(os.environ.get("PACSBRIDGE_FUZZ_EXAMPLES", "300"))
fuzz = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

VALID = [
    text(ORM_O01).encode(),
    text(ORM_FULL).encode("latin-1"),
    text(ADT_A01_SPANISH, charset="8859/1").encode("latin-1"),
    text(ADT_A01_SPANISH, charset="UNICODE UTF-8").encode("utf-8"),
    text(NON_DEFAULT).encode(),
    text(BATCH).encode(),
]
INTERESTING = list(b"|^~\\&#\r\n\x0b\x1c\x00\xff\xc3\xa9 MSH0123XFTSR.")


@st.composite
def separators(draw: st.DrawFn) -> Separators:
    chars = draw(st.permutations(list("|^~\\&#*:;/+!@$%")))
    truncation = draw(st.sampled_from([None, chars[5]]))
    return Separators(*chars[:5], truncation=truncation)


@st.composite
def generated(draw: st.DrawFn) -> bytes:
    """A valid message with random separators and values (escaped as we write them)."""
    seps = draw(separators())
    values = st.text(st.characters(codec="latin-1"), max_size=10)
    fields = draw(st.lists(st.one_of(values, st.lists(values, max_size=3)), max_size=6))
    charset = draw(st.sampled_from(["", "8859/1", "UNICODE UTF-8", "ASCII", "8859/15"]))
    msh = encode_segment("MSH", {3: "A", 9: ["ORU", "R01"], 10: "1", 12: "2.5", 18: charset}, seps)
    codec = {"8859/1": "latin-1", "8859/15": "iso8859-15", "ASCII": "ascii"}.get(charset, "utf-8")
    message = encode_message([msh, encode_segment("OBX", fields, seps)])
    return message.encode(codec, errors="replace")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.one_of(st.sampled_from(VALID), generated())))
    byte = st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255))
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["insert", "delete", "replace"]))
        if operation == "insert":
            data[at:at] = bytes(draw(st.lists(byte, min_size=1, max_size=4)))
        elif operation == "delete":
            del data[at : at + draw(st.integers(1, 4))]
        elif at < len(data):
            data[at] = draw(byte)
    return bytes(data)


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({cut % (len(data) + 1) for cut in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:], strict=False)]


def read_everything(message: Message) -> None:
    """Every reader of a message, on every field: none of them may raise."""
    str(message)
    repr(message)
    for name in ("control_id", "message_code", "trigger_event", "structure", "version",
                 "processing_id", "sending_application", "sending_facility", "charset",
                 "receiving_application", "receiving_facility", "accept_ack_type",
                 "application_ack_type", "codec", "notes"):  # fmt: skip
        getattr(message, name)
    for address in ("PID.3.1", "PID.3[2].4.1", "MSH.18", "OBX[2].5", "MSH.2"):
        message.get(address)
    for segment in message.segments:
        str(segment)
        message.all(segment.name)
        for n in range(segment.fields_count + 2):
            segment.raw_field(n)
            segment.value(n)
            segment.value(n, 2, 2, 2)
            for field in segment.repetitions(n):
                assert isinstance(field.components, list)
                field.component(2, 2)
                field.subcomponents(1)
                field.raw_component(3, 1)


def the_way_in(raw: bytes) -> None:
    try:
        decoded, charset = decode(raw)
    except HL7DecodeError:
        return
    for text_ in (decoded, *_split(decoded)):
        for codec in (charset.codec, None):
            try:
                message = parse_message(text_, codec=codec)
            except HL7ParseError:
                continue
            read_everything(message)


def _split(decoded: str) -> list[str]:
    try:
        return split_batch(decoded)
    except HL7ParseError:
        return []


@fuzz
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_our_errors(raw):
    the_way_in(raw)


@fuzz
@given(mutated())
def test_mutated_messages_raise_only_our_errors(raw):
    the_way_in(raw)


@fuzz
@given(generated())
def test_generated_messages_parse(raw):
    decoded, charset = decode(raw)
    message = parse_message(decoded, codec=charset.codec)
    assert message.control_id == "1"
    read_everything(message)


@fuzz
@given(st.binary(max_size=300), mutated(), st.lists(st.integers(0, 10_000), max_size=12))
def test_a_valid_frame_after_garbage_is_delivered(garbage, payload, cuts):
    payload = payload.replace(b"\x0b", b"").replace(b"\x1c", b"")
    framer = MllpFramer()
    got: list[bytes] = []
    for chunk in chunked(garbage + frame(payload), cuts):
        got += framer.feed(chunk)
    assert got and got[-1] == payload


@fuzz
@given(st.lists(st.binary(max_size=40), max_size=6), st.lists(st.integers(0, 500), max_size=12))
def test_frames_come_out_whole_however_the_stream_is_cut(payloads, cuts):
    payloads = [p.replace(b"\x0b", b"").replace(b"\x1c", b"") for p in payloads]
    stream = b"\r\n".join(frame(p) for p in payloads)
    framer = MllpFramer()
    got: list[bytes] = []
    for chunk in chunked(stream, cuts):
        got += framer.feed(chunk)
    assert got == payloads


@fuzz
@given(st.binary(max_size=400), st.lists(st.integers(0, 1000), max_size=12), st.integers(1, 64))
def test_the_framer_raises_only_frame_too_large(stream, cuts, limit):
    framer = MllpFramer(max_frame=limit)
    for chunk in chunked(stream, cuts):
        try:
            for payload in framer.feed(chunk):
                assert len(payload) <= limit
        except FrameTooLarge:
            pass


def test_printable_separators_are_all_that_fuzzing_uses():
    assert set("|^~\\&#*:;/+!@$%") <= set(string.punctuation)
