"""multipart/related bodies (RFC 2387) written part by part, for WADO-RS (PS3.18 8.7.3).

Each part's bytes are read from disk in chunks and sent unchanged, so a large study never
sits in memory. The generator is synchronous: Starlette's StreamingResponse runs it in a
worker thread, keeping file reads off the event loop.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

CHUNK_SIZE = 256 * 1024


@dataclass(frozen=True)
class Part:
    """One body part: a file and the Content-Type it is sent with."""

    path: Path
    content_type: str


def new_boundary() -> str:
    """A boundary no file can plausibly contain (RFC 2046 5.1.1: at most 70 characters)."""
    return f"pacsbridge-{secrets.token_hex(16)}"


def content_type(boundary: str, part_type: str) -> str:
    return f'multipart/related; type="{part_type}"; boundary={boundary}'


def write_multipart(parts: Iterable[Part], boundary: str) -> Iterator[bytes]:
    """The body: each part's headers then its file in chunks, then the close delimiter."""
    delimiter = f"--{boundary}\r\n".encode("ascii")
    for index, part in enumerate(parts):
        head = b"" if index == 0 else b"\r\n"
        yield head + delimiter + f"Content-Type: {part.content_type}\r\n\r\n".encode("ascii")
        with open(part.path, "rb") as handle:
            while chunk := handle.read(CHUNK_SIZE):
                yield chunk
    yield f"\r\n--{boundary}--\r\n".encode("ascii")
