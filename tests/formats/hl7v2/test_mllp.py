"""MLLP framing: frames out of a byte stream however it is cut, and what is skipped."""

from __future__ import annotations

import pytest

from pacsbridge.errors import BadValue, TooCostly
from pacsbridge.formats.hl7v2 import FrameTooLarge, MllpFramer, frame

ONE = b"MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.5\rPID|1||7\r"
TWO = b"MSH|^~\\&|A|B|C|D|1||ADT^A08|2|P|2.5\r"


def test_frame_wraps_in_vt_fs_cr():
    assert frame(ONE) == b"\x0b" + ONE + b"\x1c\r"
    with pytest.raises(BadValue):
        frame(b"a\x1cb")


def test_whole_frames_in_one_read():
    framer = MllpFramer()
    assert framer.feed(frame(ONE) + frame(TWO)) == [ONE, TWO]
    assert framer.skipped == 0 and framer.pending == 0 and framer.missing_cr == 0


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
def test_frames_cut_anywhere(size):
    stream = frame(ONE) + b"\r\n" + frame(TWO)
    framer = MllpFramer()
    got = []
    for at in range(0, len(stream), size):
        got += framer.feed(stream[at : at + size])
    assert got == [ONE, TWO]
    assert framer.skipped == 2  # the CR LF between the frames


def test_bytes_outside_frames_are_skipped_and_counted():
    framer = MllpFramer()
    assert framer.feed(b"noise\x1c\r" + frame(ONE) + b"  ") == [ONE]
    assert framer.skipped == len(b"noise\x1c\r") + 2


def test_an_end_block_without_cr_still_ends_the_frame():
    framer = MllpFramer()
    assert framer.feed(b"\x0b" + ONE + b"\x1c" + frame(TWO)) == [ONE, TWO]
    assert framer.missing_cr == 1
    assert framer.feed(b"\x0b" + ONE + b"\x1c") == [ONE]  # delivered without waiting
    assert framer.feed(b"\r") == []  # its late CR is its trailer, not a stray byte
    assert framer.skipped == 0
    assert framer.feed(b"\x0b" + TWO + b"\x1c") == [TWO]
    assert framer.feed(b"x") == []
    assert framer.missing_cr == 2 and framer.skipped == 1


def test_a_start_block_inside_a_frame_starts_it_again():
    framer = MllpFramer()
    assert framer.feed(b"\x0bbroken frame" + frame(ONE)) == [ONE]
    assert framer.skipped == len(b"\x0bbroken frame")


def test_an_empty_frame():
    assert MllpFramer().feed(b"\x0b\x1c\r") == [b""]


def test_a_frame_past_the_limit_raises_once_and_resyncs():
    framer = MllpFramer(max_frame=100)
    assert framer.feed(b"\x0b" + b"x" * 60) == []
    assert framer.pending == 60
    with pytest.raises(FrameTooLarge) as caught:
        framer.feed(b"x" * 60)
    assert isinstance(caught.value, TooCostly)
    assert caught.value.limit == 100
    assert framer.feed(b"x" * 500) == []  # the rest of the big frame: skipped, no new error
    assert framer.feed(b"x\x1c\r" + frame(ONE)) == [ONE]


def test_frames_done_before_the_limit_broke_are_not_lost():
    framer = MllpFramer(max_frame=100)
    with pytest.raises(FrameTooLarge):
        framer.feed(frame(ONE) + b"\x0b" + b"y" * 200 + b"\x1c\r" + frame(TWO))
    assert framer.feed(b"") == [ONE, TWO]


def test_a_16_mib_frame_in_64_kib_reads():
    payload = (ONE * (16 * 1024 * 1024 // len(ONE)))[: 16 * 1024 * 1024 - 10]
    stream = frame(payload)
    framer = MllpFramer()
    got = []
    for at in range(0, len(stream), 64 * 1024):
        got += framer.feed(stream[at : at + 64 * 1024])
    assert got == [payload]


def test_bytearray_reads():
    assert MllpFramer().feed(bytearray(frame(ONE))) == [ONE]
