"""Media types for pixel data: what a client accepts, and what a transfer syntax is sent as.

PS3.18 8.7.3.3.2 (Table 8.7.3-5) names a media type for each compressed transfer syntax;
a frame or rendered image is negotiated against the client's ``Accept`` (or the ``accept``
query parameter, PS3.18 8.3.3.1, which wins when present). Parsing is kept here so the
frame, rendered and thumbnail resources read an Accept the same way; :func:`negotiate`
checks the Accept of the other resources (DICOM JSON, multipart of whole files).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pacsbridge.dicomweb.problems import NotAcceptable

EXPLICIT_LE = "1.2.840.10008.1.2.1"
IMPLICIT_LE = "1.2.840.10008.1.2"
BIG_ENDIAN = "1.2.840.10008.1.2.2"
DEFLATED = "1.2.840.10008.1.2.1.99"
ENCAPSULATED_UNCOMPRESSED = "1.2.840.10008.1.2.1.98"
OCTET_STREAM = "application/octet-stream"

# Transfer syntaxes whose pixel data are native: frames are bytes cut at fixed offsets.
NATIVE = frozenset({EXPLICIT_LE, IMPLICIT_LE, BIG_ENDIAN, DEFLATED})

# PS3.18 Table 8.7.3-5: the media type of each compressed syntax's frames.
_BY_MEDIA_TYPE = {
    "image/jpeg": ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                   "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"),
    "image/dicom-rle": ("1.2.840.10008.1.2.5",),
    "image/jls": ("1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"),
    "image/jp2": ("1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91"),
    "image/jpx": ("1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93"),
    "image/jphc": ("1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
                   "1.2.840.10008.1.2.4.203"),
    "image/jxl": ("1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.111",
                  "1.2.840.10008.1.2.4.112"),
    OCTET_STREAM: (ENCAPSULATED_UNCOMPRESSED,),
}  # fmt: skip
MEDIA_TYPE_OF = {uid: media for media, uids in _BY_MEDIA_TYPE.items() for uid in uids}

# Lossy syntaxes: PS3.18 8.7.3.3 lets a server that holds only lossy data send it as is
# when no transfer syntax is asked for, rather than decompress it into a false lossless.
LOSSY = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51",
                   "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91",
                   "1.2.840.10008.1.2.4.93", "1.2.840.10008.1.2.4.203",
                   "1.2.840.10008.1.2.4.111", "1.2.840.10008.1.2.4.112"})  # fmt: skip

# MPEG-2, MPEG-4 and HEVC streams: one stream for all frames, no frame can be cut out.
VIDEO = frozenset({f"1.2.840.10008.1.2.4.{n}" for n in range(100, 109)})


@dataclass(frozen=True)
class MediaRange:
    """One item of an Accept list: ``type/subtype`` (lower case), its parameters, its q."""

    media: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    @property
    def transfer_syntax(self) -> str | None:
        return self.params.get("transfer-syntax")

    def matches(self, media: str) -> bool:
        """Whether this range allows ``media`` (``*/*`` and ``image/*`` included)."""
        kind, _, sub = self.media.partition("/")
        want_kind, _, want_sub = media.partition("/")
        return kind in ("*", want_kind) and sub in ("*", want_sub)


def parse_accept(header: str | None) -> list[MediaRange]:
    """The ranges of an Accept value, best first (stable for equal q); q=0 ones dropped."""
    ranges = []
    for item in (header or "").split(","):
        media, *raw = (p.strip() for p in item.split(";"))
        if not media:
            continue
        params: dict[str, str] = {}
        for param in raw:
            name, _, value = param.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 1.0
        if q > 0:
            ranges.append(MediaRange(media.lower(), params, q))
    return sorted(ranges, key=lambda r: -r.q)


def acceptable(accept_header: str | None, accept_query: list[str]) -> list[MediaRange]:
    """The client's acceptable media: the ``accept`` query parameter, else the header."""
    if accept_query:
        return parse_accept(",".join(accept_query))
    return parse_accept(accept_header)


def negotiate(accept: str | None, media_types: tuple[str, ...], what: str,
              part_type: str = "") -> None:  # fmt: skip
    """Refuse (406) an Accept header that allows none of ``media_types`` (PS3.18 8.7.4).

    For multipart, a ``type`` parameter other than ``part_type`` is refused too: frames and
    rendered images are resources of their own (``frames.py``, ``rendered.py``).
    """
    if not accept:
        return
    wildcards = {"*/*", f"{media_types[0].split('/')[0]}/*"}
    for item in accept.split(","):
        media, *params = (p.strip() for p in item.split(";"))
        media = media.lower()
        if media in wildcards:
            return
        if media in media_types:
            types = [p.split("=", 1)[1].strip('"').lower() for p in params
                     if p.lower().startswith("type=")]  # fmt: skip
            if not part_type or not types or types[0] == part_type:
                return
    raise NotAcceptable(f"cannot answer {what} as {accept}")
