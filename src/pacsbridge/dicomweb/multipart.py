"""multipart/related bodies (RFC 2387) written part by part, for WADO-RS (PS3.18 8.7.3).

A part's body is a file (read from disk in chunks and sent unchanged, so a large study never
sits in memory), bytes, or a function that makes the bytes when the part is reached (a
frame is read or decoded only as it is sent). The generator is synchronous: Starlette's
StreamingResponse runs it in a worker thread, keeping file reads off the event loop.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True)
class Part:
    """One body part: its content, the Content-Type it is sent with, and where it lives.

    ``location`` becomes the part's Content-Location (PS3.18 8.6.1.2), the URL that names
    this very part (a frame, a bulk data value), so a client can tell parts apart.
    """

    body: Path | bytes | Callable[[], bytes]
    content_type: str
    location: str | None = None


def new_boundary() -> str:
    """A boundary no file can plausibly contain (RFC 2046 5.1.1: at most 70 characters)."""
    return f"pacsbridge-{secrets.token_hex(16)}"


def content_type(boundary: str, part_type: str) -> str:
    return f'multipart/related; type="{part_type}"; boundary={boundary}'


def write_multipart(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """The body: each part's headers then its content, then the close delimiter."""
    delimiter = f"--{boundary}\r\n".encode("ascii")
    for index, part in enumerate(parts):
        head = b"" if index == 0 else b"\r\n"
        headers = f"Content-Type: {part.content_type}\r\n"
        if part.location:
            headers += f"Content-Location: {part.location}\r\n"
        yield head + delimiter + headers.encode("ascii") + b"\r\n"
        yield from _content(part.body)
    yield f"\r\n--{boundary}--\r\n".encode("ascii")


def _content(body: Path | bytes | Callable[[], bytes]) -> Iterator[bytes]:
    if isinstance(body, bytes):
        yield body
    elif isinstance(body, Path):
        with open(body, "rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                yield chunk
    else:
        yield body()
