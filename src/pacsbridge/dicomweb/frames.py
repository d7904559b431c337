"""WADO-RS Retrieve Frames (PS3.18 10.4.1.1.4): ``.../instances/{i}/frames/{list}``.

One part per frame number, in the order asked. What each part holds is negotiated
against the Accept header (PS3.18 8.7.3.3, 8.7.8):

* ``type=application/octet-stream`` with ``transfer-syntax=*`` (what OHIF and
  Cornerstone send): the frame as stored, native bytes for an uncompressed file, the
  compressed frame as its own media type (``image/jpeg``, ``image/jls``, ``image/jp2``
  ...) for an encapsulated one. Each part's Content-Type names the transfer syntax.
* ``application/octet-stream`` with no transfer syntax, or Explicit VR Little Endian:
  native bytes; a lossless compressed frame is decompressed; a lossy one is sent as
  stored, as PS3.18 8.7.3.3 allows rather than pass decoded lossy data off as lossless.
* a compressed media type (``image/jpeg`` ...): the stored frame when it is of that
  type; without a ``transfer-syntax`` any syntax of the type is taken (the part says
  which), since we never re-compress.

A single-part Accept (no ``multipart/related``) is honoured for one frame. Nothing
acceptable is a 406 that says what the frames are stored as.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from pacsbridge.dicomweb import media
from pacsbridge.dicomweb.media import OCTET_STREAM, MediaRange
from pacsbridge.dicomweb.multipart import Part
from pacsbridge.dicomweb.pixels import StoredPixels
from pacsbridge.dicomweb.problems import NotAcceptable
from pacsbridge.errors import BadValue, UnknownKey, Unsupported

MAX_FRAMES_PER_REQUEST = 10_000
_FRAME = re.compile(r"^[0-9]{1,9}$")
_DEFAULT = [MediaRange("multipart/related", {"type": OCTET_STREAM})]


@dataclass(frozen=True)
class Choice:
    """How every part of the answer is made: its media type and syntax, decoded or not."""

    media_type: str
    transfer_syntax: str
    decode: bool
    multipart: bool = True

    @property
    def content_type(self) -> str:
        return f"{self.media_type}; transfer-syntax={self.transfer_syntax}"


def parse_frame_list(text: str) -> list[int]:
    """``1,3,5`` to 1-based frame numbers; anything but positive integers is a 400."""
    items = [item.strip() for item in text.split(",")]
    if not items or not all(_FRAME.match(i) and int(i) > 0 for i in items):
        raise BadValue(f"the frame list {text!r} is not comma-separated frame numbers "
                       "from 1", "frames")  # fmt: skip
    if len(items) > MAX_FRAMES_PER_REQUEST:
        raise BadValue(f"at most {MAX_FRAMES_PER_REQUEST} frames may be asked at once")
    return [int(i) for i in items]


def check_range(numbers: list[int], pixels: StoredPixels, instance: str) -> None:
    """Frames past the last one do not exist: 404, naming how many there are."""
    beyond = [n for n in numbers if n > pixels.frames]
    if beyond:
        raise UnknownKey(f"instance {instance} has {pixels.frames} frame(s); there is no "
                         f"frame {beyond[0]}", "frames")  # fmt: skip


def choose(accept: list[MediaRange], pixels: StoredPixels, count: int) -> Choice:
    """The first acceptable way to send ``count`` frames of ``pixels`` (best q first)."""
    if pixels.transfer_syntax in media.VIDEO:
        raise Unsupported(f"the pixel data is a {pixels.transfer_syntax.name} video "
                          "stream, whose frames cannot be sent one by one")  # fmt: skip
    for item in accept or _DEFAULT:
        if item.media == "multipart/related":
            inner, multipart = item.params.get("type", OCTET_STREAM).lower(), True
        elif item.media in ("*/*", "multipart/*"):
            inner, multipart = "*/*", True
        else:
            inner, multipart = item.media, False
        if not multipart and count != 1:
            continue  # a single-part answer holds one frame
        found = _resolve(MediaRange(inner, item.params), pixels)
        if found is not None:
            return Choice(found.media_type, found.transfer_syntax, found.decode, multipart)
    stored = pixels.transfer_syntax
    kind = media.MEDIA_TYPE_OF.get(stored, OCTET_STREAM)
    ask = f'type="{kind}" or ' if kind != OCTET_STREAM else ""
    raise NotAcceptable(f"the frames are stored as {stored.name} ({stored}); ask for "
                        f'multipart/related; {ask}type="{OCTET_STREAM}"; '
                        "transfer-syntax=*")  # fmt: skip


def _resolve(wanted: MediaRange, pixels: StoredPixels) -> Choice | None:
    """What ``wanted`` (the part's media range) yields for these pixels, if anything."""
    syntax = wanted.transfer_syntax
    native = Choice(OCTET_STREAM, media.EXPLICIT_LE, decode=False)
    if pixels.is_native or pixels.transfer_syntax == media.ENCAPSULATED_UNCOMPRESSED:
        # Implicit VR pixel bytes are Explicit's: asked for, they come labelled Explicit
        # (PS3.18 8.7.3 keeps Implicit VR off the web)
        if wanted.matches(OCTET_STREAM) and syntax in (None, "*", media.EXPLICIT_LE,
                                                       media.IMPLICIT_LE):  # fmt: skip
            return native
        return None
    stored = Choice(media.MEDIA_TYPE_OF.get(pixels.transfer_syntax, OCTET_STREAM),
                    pixels.transfer_syntax, decode=False)  # fmt: skip
    if wanted.media == OCTET_STREAM:
        if syntax in ("*", pixels.transfer_syntax):
            return stored
        decoded = Choice(OCTET_STREAM, media.EXPLICIT_LE, decode=True)
        if syntax == media.EXPLICIT_LE:
            return decoded if pixels.can_decode() else None
        if syntax is None:
            return stored if pixels.is_lossy or not pixels.can_decode() else decoded
        return None
    if wanted.matches(stored.media_type) and syntax in (None, "*", pixels.transfer_syntax):
        return stored
    return None


def parts(pixels: StoredPixels, numbers: list[int], choice: Choice, location: str) -> list[Part]:
    """One part per frame; each frame is read (or decoded) only when its part is sent."""

    def body(number: int) -> Callable[[], bytes]:
        index = number - 1
        if choice.decode:
            return lambda: pixels.native_frame(index)
        return lambda: pixels.stored_frame(index)

    return [Part(body(n), choice.content_type, f"{location}/frames/{n}") for n in numbers]


def with_first_read(found: list[Part]) -> list[Part]:
    """The parts with the first one's bytes made now, before the answer starts: a frame
    that cannot be read or decoded is then a problem answer, not a cut-off body."""
    first = found[0]
    body = first.body() if callable(first.body) else first.body
    return [Part(body, first.content_type, first.location), *found[1:]]
