"""Retrieve Rendered (PS3.18 10.4.1.1.3) and the rendering query parameters (8.3.5.1).

A frame is decoded (``pixels.py``), then taken through the grayscale pipeline of PS3.4
N.2 the way a viewer would show it: Modality LUT (rescale slope and intercept, or the
Modality LUT Sequence), then the VOI: the ``window`` parameter, else the first window or
VOI LUT of the header, else the frame's own range; MONOCHROME1 (and an INVERSE
Presentation LUT Shape) is inverted. Colour images are made RGB (YBR converted, palettes
applied) and brought to 8 bits. Then the source region and the viewport of ``viewport``
are applied, and Pillow encodes JPEG (default, ``quality``), PNG or GIF.

``annotation``, ``iccprofile`` and ``charset`` are accepted and not applied (8.3.5.1
lets a server support only some parameters).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels import apply_color_lut, apply_modality_lut, apply_voi

from pacsbridge.dicomweb.media import MediaRange
from pacsbridge.dicomweb.pixels import StoredPixels
from pacsbridge.dicomweb.problems import NotAcceptable
from pacsbridge.errors import BadValue

RENDERED_TYPES = ("image/jpeg", "image/png", "image/gif")
_PILLOW_FORMAT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF"}
DEFAULT_QUALITY = 90
MAX_VIEWPORT = 8192
WINDOW_FUNCTIONS = ("linear", "linear-exact", "sigmoid")


@dataclass(frozen=True)
class Window:
    center: float
    width: float
    function: str = "linear"


@dataclass(frozen=True)
class Region:
    """A part of the source image (``sx, sy, sw, sh``); a negative size flips that axis."""

    x: int = 0
    y: int = 0
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class RenderParams:
    media_type: str = "image/jpeg"
    quality: int = DEFAULT_QUALITY
    window: Window | None = None
    viewport: tuple[int, int] | None = None
    region: Region | None = None


def choose_media_type(accept: list[MediaRange]) -> str:
    """JPEG unless the client prefers PNG or GIF; 406 when it takes no image at all."""
    if not accept:
        return RENDERED_TYPES[0]
    for item in accept:
        for kind in RENDERED_TYPES:
            if item.matches(kind):
                return kind
    raise NotAcceptable(f"rendered images are {', '.join(RENDERED_TYPES)}; the Accept "
                        f"allows none of them")  # fmt: skip


def parse_params(query: list[tuple[str, str]], media_type: str,
                 default_viewport: tuple[int, int] | None = None) -> RenderParams:  # fmt: skip
    """The rendering parameters of the query; an ill-formed one is a 400 naming it."""
    values = dict(query)
    viewport, region = default_viewport, None
    if "viewport" in values:
        viewport, region = _viewport(values["viewport"])
    window = _window(values["window"]) if "window" in values else None
    quality = DEFAULT_QUALITY
    if "quality" in values:
        text = values["quality"].strip()
        if not text.isdigit() or not 1 <= int(text) <= 100:
            raise BadValue(f"quality must be an integer from 1 to 100, not {text!r}", "quality")
        quality = int(text)
    return RenderParams(media_type, quality, window, viewport, region)


def _numbers(name: str, text: str) -> list[float]:
    try:
        found = [float(v) for v in text.split(",")]
    except ValueError:
        raise BadValue(f"{name} {text!r} is not a list of numbers", name) from None
    if not all(math.isfinite(v) for v in found):
        raise BadValue(f"{name} {text!r} has a value that is not a finite number", name)
    return found


def _viewport(text: str) -> tuple[tuple[int, int], Region | None]:
    """``vw,vh`` or ``vw,vh,sx,sy,sw,sh`` (PS3.18 8.3.5.1.3); empty sx... take defaults."""
    items = text.split(",")
    if len(items) not in (2, 6):
        raise BadValue(f"viewport {text!r} is not vw,vh or vw,vh,sx,sy,sw,sh", "viewport")
    vw, vh = _numbers("viewport", ",".join(items[:2]))
    if not (vw.is_integer() and vh.is_integer() and 0 < vw <= MAX_VIEWPORT
            and 0 < vh <= MAX_VIEWPORT):  # fmt: skip
        raise BadValue(f"viewport width and height must be integers from 1 to {MAX_VIEWPORT}",
                       "viewport")  # fmt: skip
    region = None
    if len(items) == 6:
        sx, sy, sw, sh = (None if not v.strip() else _numbers("viewport", v)[0]
                          for v in items[2:])  # fmt: skip
        if sw == 0 or sh == 0:
            raise BadValue("the source region of viewport has a zero width or height", "viewport")
        region = Region(int(sx or 0), int(sy or 0), None if sw is None else int(sw),
                        None if sh is None else int(sh))  # fmt: skip
    return (int(vw), int(vh)), region


def _window(text: str) -> Window:
    """``center,width[,function]`` (PS3.18 8.3.5.1.4; PS3.3 C.11.2.1.2 functions)."""
    items = text.split(",")
    if len(items) not in (2, 3):
        raise BadValue(f"window {text!r} is not center,width,function", "window")
    center, width = _numbers("window", ",".join(items[:2]))
    function = items[2].strip().lower().replace("_", "-") if len(items) == 3 else "linear"
    if function not in WINDOW_FUNCTIONS:
        raise BadValue(f"window function {items[2]!r} is not one of "
                       f"{', '.join(WINDOW_FUNCTIONS)}", "window")  # fmt: skip
    if width < (1 if function == "linear" else 0) or width == 0:
        raise BadValue(f"window width {width:g} is too small for {function}", "window")
    return Window(center, width, function)


# --- the pipeline ---


def render(pixels: StoredPixels, index: int, params: RenderParams) -> bytes:
    """Frame ``index`` (from 0) of ``pixels`` as an encoded image."""
    image = to_display(pixels, index, params.window)
    image = _apply_region(image, params.region)
    picture = Image.fromarray(image)
    if params.viewport:
        picture = _fit(picture, params.viewport)
    out = io.BytesIO()
    options = {"quality": params.quality} if params.media_type == "image/jpeg" else {}
    picture.save(out, format=_PILLOW_FORMAT[params.media_type], **options)
    return out.getvalue()


def to_display(pixels: StoredPixels, index: int, window: Window | None) -> np.ndarray:
    """8-bit display values: (rows, columns) for grayscale, (rows, columns, 3) for colour."""
    arr = pixels.array(index)
    header = pixels.header
    if pixels.photometric in ("MONOCHROME1", "MONOCHROME2"):
        if arr.ndim == 3:  # several samples labelled monochrome: show the first
            arr = arr[..., 0]
        return _grayscale(arr, header, window, pixels.photometric == "MONOCHROME1")
    if pixels.photometric == "PALETTE COLOR":
        arr = apply_color_lut(arr, header)
        return _to_8bit(arr, 16 if arr.dtype.itemsize > 1 else 8)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return _to_8bit(arr, int(header.get("BitsStored") or pixels.bits_allocated))


def _grayscale(arr: np.ndarray, header: Dataset, window: Window | None,
               monochrome1: bool) -> np.ndarray:  # fmt: skip
    values = apply_modality_lut(arr, header).astype(np.float64)
    if window is None:
        window = header_window(header)
    if window is not None:
        shown = apply_window(values, window)
    elif "VOILUTSequence" in header:
        lut = header.VOILUTSequence[0]
        top = float(2 ** int(lut.LUTDescriptor[2]) - 1) or 1.0
        shown = np.clip(apply_voi(values, header).astype(np.float64) / top, 0.0, 1.0)
    else:
        low, high = float(values.min()), float(values.max())
        shown = (values - low) / (high - low) if high > low else np.zeros_like(values)
    if monochrome1 != (str(header.get("PresentationLUTShape", "")) == "INVERSE"):
        shown = 1.0 - shown
    return np.rint(shown * 255.0).astype(np.uint8)


def header_window(header: Dataset) -> Window | None:
    """The first window of the header (PS3.3 C.11.2), if it has a usable one."""
    center, width = header.get("WindowCenter"), header.get("WindowWidth")
    if center is None or width is None or center == "" or width == "":
        return None
    first = [float(v[0] if hasattr(v, "__len__") and not isinstance(v, str) else v)
             for v in (center, width)]  # fmt: skip
    function = str(header.get("VOILUTFunction", "LINEAR")).strip().lower().replace("_", "-")
    function = function if function in WINDOW_FUNCTIONS else "linear"
    if first[1] < (1 if function == "linear" else 0) or first[1] == 0:
        return None
    return Window(first[0], first[1], function)


def apply_window(values: np.ndarray, window: Window) -> np.ndarray:
    """PS3.3 C.11.2.1.2: values to 0..1 by a LINEAR, LINEAR_EXACT or SIGMOID function."""
    c, w = window.center, window.width
    if window.function == "sigmoid":
        return 1.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    if window.function == "linear-exact":
        return np.clip((values - c) / w + 0.5, 0.0, 1.0)
    return np.clip((values - (c - 0.5)) / (w - 1) + 0.5, 0.0, 1.0)


def _to_8bit(arr: np.ndarray, bits: int) -> np.ndarray:
    if arr.dtype == np.uint8 and bits <= 8:
        return arr
    top = float(2 ** min(max(bits, 1), 32) - 1)
    return np.rint(np.clip(arr.astype(np.float64) / top, 0.0, 1.0) * 255.0).astype(np.uint8)


def _apply_region(image: np.ndarray, region: Region | None) -> np.ndarray:
    """Cut the source region out; a negative width or height flips the image that way."""
    if region is None:
        return image
    rows, columns = image.shape[:2]
    x0, x1, flip_x = _span(region.x, region.width, columns)
    y0, y1, flip_y = _span(region.y, region.height, rows)
    if x0 >= x1 or y0 >= y1:
        raise BadValue("the source region of viewport lies outside the image", "viewport")
    cut = image[y0:y1, x0:x1]
    if flip_x:
        cut = cut[:, ::-1]
    if flip_y:
        cut = cut[::-1]
    return np.ascontiguousarray(cut)


def _span(start: int, size: int | None, limit: int) -> tuple[int, int, bool]:
    if size is None:
        low, high, flip = start, limit, False
    elif size < 0:
        low, high, flip = start + size, start, True
    else:
        low, high, flip = start, start + size, False
    return max(low, 0), min(high, limit), flip


def _fit(picture: Image.Image, viewport: tuple[int, int]) -> Image.Image:
    """Scaled to fit the viewport, keeping the aspect ratio (PS3.18 8.3.5.1.3)."""
    width, height = picture.size
    scale = min(viewport[0] / width, viewport[1] / height)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == picture.size:
        return picture
    return picture.resize(size, Image.Resampling.LANCZOS)
