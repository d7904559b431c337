"""The pixel data of one stored file: its layout, one frame's bytes, one frame decoded.

Files are kept as received (``store/instances.py``), so a frame is read from the file on
demand: the header is parsed up to Pixel Data, whose element header is read by hand for
the value's offset and length, so the pixel data itself is never scanned; a native frame
is then a seek and a read at a computed offset, and an encapsulated frame is cut out by
``pydicom.encaps.get_frame`` reading from that offset. Decoding (for rendered images and
for clients that cannot decompress) goes through pydicom's decoders, with pylibjpeg
plugins for JPEG, JPEG-LS and JPEG 2000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.pixels import get_decoder, pack_bits, pixel_array
from pydicom.uid import UID

from pacsbridge.dicomweb import media
from pacsbridge.dicomweb.problems import Undecodable
from pacsbridge.errors import PacsbridgeError, UnknownKey

_EXTENDED_OFFSETS = (0x7FE00001, 0x7FE00002)
_PIXEL_DATA_TAG = {True: b"\xe0\x7f\x10\x00", False: b"\x7f\xe0\x00\x10"}  # by little endian
_LONG_VRS = {b"OB", b"OW", b"OD", b"OF", b"OL", b"OV", b"UN", b"SQ", b"UC", b"UR", b"UT"}

# Photometric interpretations whose decoded samples mean what the stored header says; a
# decoded YBR frame comes out as RGB, which the client's metadata would contradict.
_SAME_WHEN_DECODED = frozenset({"MONOCHROME1", "MONOCHROME2", "PALETTE COLOR", "RGB"})


class StoredPixels:
    """One stored file's pixel data, read frame by frame (frame indexes start at 0)."""

    def __init__(self, path: Path, transfer_syntax: str) -> None:
        self.path = path
        self.transfer_syntax = UID(transfer_syntax)
        self.header, self._value_tell, self._length = _locate(path, self.transfer_syntax)
        h = self.header
        self.rows, self.columns = int(h.get("Rows") or 0), int(h.get("Columns") or 0)
        self.samples = int(h.get("SamplesPerPixel") or 1)
        self.bits_allocated = int(h.get("BitsAllocated") or 8)
        self.photometric = str(h.get("PhotometricInterpretation", "")).strip()
        self.planar = int(h.get("PlanarConfiguration") or 0)
        self.frames = _number_of_frames(h)

    @property
    def is_native(self) -> bool:
        return self.transfer_syntax in media.NATIVE

    @property
    def is_lossy(self) -> bool:
        return self.transfer_syntax in media.LOSSY

    @property
    def frame_bits(self) -> int:
        return self.rows * self.columns * self.samples * self.bits_allocated

    def can_decode(self) -> bool:
        """Whether a compressed frame can be given as native bytes the metadata describes."""
        return self.photometric in _SAME_WHEN_DECODED and _decoder_available(self.transfer_syntax)

    # --- as stored ---

    def stored_frame(self, index: int) -> bytes:
        """The frame as kept: native little-endian bytes, or the compressed frame."""
        if self.transfer_syntax in (media.EXPLICIT_LE, media.IMPLICIT_LE):
            return self._native_slice(index)
        if self.is_native:  # big endian or deflated: let pydicom undo the encoding
            return self._as_bytes(self.array(index, raw=True))
        frame = self._encapsulated(index)
        if self.transfer_syntax == media.ENCAPSULATED_UNCOMPRESSED:
            return frame[: self.frame_bits // 8]  # the item's padding byte is not pixel data
        return frame

    def native_frame(self, index: int) -> bytes:
        """The frame as native little-endian bytes (PS3.18 8.7.3.3.1), decoding if needed."""
        if self.is_native or self.transfer_syntax == media.ENCAPSULATED_UNCOMPRESSED:
            return self.stored_frame(index)
        return self._as_bytes(self.array(index))

    def _native_slice(self, index: int) -> bytes:
        bits = self.frame_bits
        start_bit, end_bit = index * bits, (index + 1) * bits
        start, end = start_bit // 8, (end_bit + 7) // 8
        if end > self._length:
            raise PacsbridgeError(f"the stored pixel data of {self.path.stem} is shorter "
                                  f"than frame {index + 1} needs")  # fmt: skip
        data = self._read(start, end - start)
        if start_bit % 8 == 0 and end_bit % 8 == 0:
            return data
        # 1-bit frames need not start on a byte: cut the bits out and pack them again.
        unpacked = np.unpackbits(np.frombuffer(data, np.uint8), bitorder="little")
        offset = start_bit - start * 8
        return pack_bits(unpacked[offset : offset + bits], pad=False)

    def _read(self, start: int, size: int) -> bytes:
        with open(self.path, "rb") as handle:
            handle.seek(self._value_tell + start)
            return handle.read(size)

    def _encapsulated(self, index: int) -> bytes:
        offsets = self._extended_offsets()
        with open(self.path, "rb") as handle:
            handle.seek(self._value_tell)
            return get_frame(handle, index, number_of_frames=self.frames,
                             extended_offsets=offsets)  # fmt: skip

    def _extended_offsets(self) -> tuple[bytes, bytes] | None:
        values = [self.header.get(tag) for tag in _EXTENDED_OFFSETS]
        if all(v is not None and v.value for v in values):
            return (bytes(values[0].value), bytes(values[1].value))  # type: ignore[union-attr]
        return None

    # --- decoded ---

    def array(self, index: int, *, raw: bool = False) -> np.ndarray:
        """One frame decoded: (rows, columns) or (rows, columns, samples); YBR made RGB
        unless ``raw``. Failures become :class:`Undecodable` naming the syntax and cause."""
        if not _decoder_available(self.transfer_syntax):
            raise Undecodable(f"pixel data in {self.transfer_syntax.name} cannot be decoded "
                              "here: no decoder is installed for it")  # fmt: skip
        # A deflated file is one zlib stream: no offset into it, so it is read whole.
        source = dcmread(self.path) if self.transfer_syntax == media.DEFLATED else str(self.path)
        try:
            return pixel_array(source, index=index, raw=raw)
        except Exception as exc:  # a codec's own error: corrupt or unsupported stream
            name = self.transfer_syntax.name
            raise Undecodable(f"frame {index + 1} of {self.path.stem} ({name}) could not be "
                              f"decoded: {exc}") from exc  # fmt: skip

    def _as_bytes(self, arr: np.ndarray) -> bytes:
        """Native bytes for a decoded frame: little endian, bit-packed for 1-bit data, and
        planes apart when the header says PlanarConfiguration 1."""
        if self.bits_allocated == 1:
            return pack_bits(arr, pad=False)
        if arr.ndim == 3 and self.planar == 1:
            arr = arr.transpose(2, 0, 1)
        return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()


def _locate(path: Path, transfer_syntax: UID) -> tuple[Dataset, int, int]:
    """The header, and the offset and length of the Pixel Data value in the file.

    ``stop_before_pixels`` leaves the file at the Pixel Data tag; its element header is
    8 bytes (implicit VR) or 12 (explicit VR, OB/OW). A deflated file has no usable
    offset (its frames are decoded from the inflated dataset instead).
    """
    missing = UnknownKey(f"{path.stem} has no pixel data, so no frames", "PixelData")
    if transfer_syntax == media.DEFLATED:
        whole = dcmread(path)
        if "PixelData" not in whole:
            raise missing
        del whole.PixelData
        return whole, 0, 0
    with open(path, "rb") as handle:
        header = dcmread(handle, stop_before_pixels=True)
        start = handle.tell()
        head = handle.read(12)
    little = transfer_syntax != media.BIG_ENDIAN
    if head[:4] != _PIXEL_DATA_TAG[little]:
        raise missing
    order = "little" if little else "big"
    if transfer_syntax == media.IMPLICIT_LE or not head[4:6].isalpha():  # no VR: implicit
        return header, start + 8, int.from_bytes(head[4:8], order)
    if head[4:6] in _LONG_VRS:
        return header, start + 12, int.from_bytes(head[8:12], order)
    return header, start + 8, int.from_bytes(head[6:8], order)


def _number_of_frames(header: Dataset) -> int:
    try:
        return max(int(header.get("NumberOfFrames") or 1), 1)
    except (TypeError, ValueError):
        return 1


def _decoder_available(transfer_syntax: UID) -> bool:
    try:
        return bool(get_decoder(transfer_syntax).is_available)
    except (NotImplementedError, ValueError):
        return False
