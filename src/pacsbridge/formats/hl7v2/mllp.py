"""MLLP framing: HL7 messages between a start block and an end block on a byte stream.

HL7 v2.5.1 Appendix C (MLLP release 1) and the MLLP release 2 guide: a frame is ``0x0B``
(VT, start block), the payload, then ``0x1C 0x0D`` (FS, CR). Framing only: no sockets here,
so that the listener, the sender and the tests share one implementation (the idea of
python-hl7's ``MLLPStreamReader``).

Choices where senders and the standard differ:

- Bytes outside a frame (whitespace between frames, stray bytes, a lone FS) are skipped and
  counted in ``skipped``.
- An FS ends a frame whether a CR follows or not (FS cannot occur in HL7 text in any ASCII-based
  character set MLLP carries); a CR right after it, even in the next read, is its trailer.
  A frame whose FS is the last byte of a read is delivered at once, so a sender that omits the
  CR and waits for its ACK is not left hanging. Such frames are counted in ``missing_cr``.
- A VT inside a frame starts a new frame: the bytes before it were a broken frame (counted
  as skipped). So a valid frame after any garbage is always delivered.
- A frame growing past ``max_frame`` raises :class:`FrameTooLarge` once; its remaining bytes are
  skipped until the next VT. Frames completed earlier in the same read are not lost: the next
  ``feed`` (``feed(b"")`` will do) returns them first.

Work is linear in the bytes fed: each read is scanned once for VT and FS with ``bytes.find``,
and a frame that spans reads is appended to one ``bytearray``.
"""

from __future__ import annotations

from ...errors import BadValue, TooCostly

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = 0x0D


HEAD_KEPT = 4096
"""Bytes of a dropped frame kept, so that its MSH can still address an AR."""


class FrameTooLarge(TooCostly):
    """A frame longer than the framer accepts; ``head`` holds its first bytes."""

    def __init__(self, size: int, limit: int, head: bytes = b"") -> None:
        super().__init__(f"MLLP frame of more than {size} bytes exceeds the limit of {limit}")
        self.size = size
        self.limit = limit
        self.head = head


def frame(payload: bytes) -> bytes:
    """Wrap one payload in VT ... FS CR; a payload holding VT or FS cannot be framed."""
    if START_BLOCK in payload or END_BLOCK in payload:
        raise BadValue("the payload holds an MLLP start (0x0B) or end (0x1C) byte")
    return START_BLOCK + payload + b"\x1c\r"


class MllpFramer:
    """Turns the reads of one connection into complete payloads."""

    def __init__(self, max_frame: int = 16 * 1024 * 1024) -> None:
        self.max_frame = max_frame
        self.skipped = 0  # bytes outside delivered frames, abandoned frames included
        self.missing_cr = 0  # frames ended by FS without the CR the standard asks for
        self._buffer = bytearray()
        self._in_frame = False
        self._after_end = False  # the last read ended with FS: a CR may follow
        self._ready: list[bytes] = []  # frames completed in a read that then raised

    @property
    def pending(self) -> int:
        """Bytes of a frame begun and not yet ended."""
        return len(self._buffer) if self._in_frame else 0

    def feed(self, data: bytes | bytearray) -> list[bytes]:
        """The payloads completed by ``data``, in order; may raise :class:`FrameTooLarge`."""
        out, self._ready = self._ready, []
        too_large: FrameTooLarge | None = None
        size = len(data)
        pos = 0
        if self._after_end and size:
            self._after_end = False
            if data[0] == CARRIAGE_RETURN:
                pos = 1
            else:
                self.missing_cr += 1
        buffer = self._buffer
        while pos < size:
            if not self._in_frame:
                start = data.find(START_BLOCK, pos)
                if start < 0:
                    self.skipped += size - pos
                    break
                self.skipped += start - pos
                pos = start + 1
                self._in_frame = True
                continue
            end = data.find(END_BLOCK, pos)
            stop = size if end < 0 else end
            restart = data.find(START_BLOCK, pos, stop)
            if restart >= 0:  # a new frame begins before this one ended
                self.skipped += len(buffer) + (restart - pos) + 1
                buffer.clear()
                pos = restart + 1
                continue
            if len(buffer) + (stop - pos) > self.max_frame:
                head = bytes(buffer[:HEAD_KEPT]) + bytes(data[pos : pos + HEAD_KEPT])
                too_large = FrameTooLarge(
                    len(buffer) + (stop - pos), self.max_frame, head[:HEAD_KEPT]
                )
                self.skipped += len(buffer) + (stop - pos) + 1
                buffer.clear()
                self._in_frame = False
                pos = stop  # from here on: outside a frame until the next VT
                continue
            if end < 0:
                buffer += memoryview(data)[pos:stop]
                break
            if buffer:
                buffer += memoryview(data)[pos:end]
                out.append(bytes(buffer))
                buffer.clear()
            else:
                out.append(bytes(data[pos:end]))
            self._in_frame = False
            pos = end + 1
            if pos == size:
                self._after_end = True
            elif data[pos] == CARRIAGE_RETURN:
                pos += 1
            else:
                self.missing_cr += 1
        if too_large is not None:
            self._ready = out
            raise too_large
        return out


__all__ = ["CARRIAGE_RETURN", "END_BLOCK", "START_BLOCK", "FrameTooLarge", "MllpFramer", "frame"]
