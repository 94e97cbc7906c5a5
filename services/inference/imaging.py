"""Request validation and guarded image decoding: bad input becomes field violations.

Decoding never trusts the bytes: a size limit before decoding, an allow-list of formats,
the pixel count checked from the header before any pixel is decoded (decompression bombs),
and every Pillow error (truncated, corrupt, unsupported) turned into a violation.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from libs.status.errors import FieldViolation
from services.inference.backends.base import Rect

ALLOWED_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF", "PPM")
# ImageFormat enum of bytebot.common.v1 → Pillow format name.
DECLARED_FORMATS = {1: "PNG", 2: "JPEG"}


class BadInput(Exception):
    def __init__(self, violations: list[FieldViolation]) -> None:
        super().__init__("; ".join(f"{v.field} {v.description}" for v in violations))
        self.violations = violations


@dataclass(frozen=True)
class Decoded:
    rgb: np.ndarray
    width: int
    height: int
    format: str


def decode_image(data: bytes, declared_format: int, max_bytes: int, max_pixels: int,
                 field: str = "image") -> Decoded:
    if not data:
        raise BadInput([FieldViolation(f"{field}.data", "must not be empty")])
    if len(data) > max_bytes:
        raise BadInput([FieldViolation(
            f"{field}.data", f"is {len(data)} bytes, more than the limit of {max_bytes}")])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            width, height = img.size
            if width * height > max_pixels:
                raise BadInput([FieldViolation(
                    f"{field}.data", f"is {width}x{height} pixels, more than the limit of "
                    f"{max_pixels} pixels")])
            declared = DECLARED_FORMATS.get(declared_format)
            if declared and img.format != declared:
                raise BadInput([FieldViolation(
                    f"{field}.format", f"says {declared} but the data is {img.format}")])
            img.load()
            fmt = img.format or "unknown"
            rgb = to_rgb(img)
    except BadInput:
        raise
    except UnidentifiedImageError:
        raise BadInput([FieldViolation(
            f"{field}.data", "is not an image in a supported format "
            f"({', '.join(ALLOWED_FORMATS)})")]) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadInput([FieldViolation(f"{field}.data",
                                       "is too large when decoded (decompression bomb)")]) from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        # Truncated files, corrupt chunks, unsupported modes: all the client's data.
        raise BadInput([FieldViolation(f"{field}.data", f"cannot be decoded: {e}")]) from None
    if width == 0 or height == 0:
        raise BadInput([FieldViolation(f"{field}.data", "has no pixels")])
    return Decoded(rgb=rgb, width=width, height=height, format=fmt)


def to_rgb(img: Image.Image) -> np.ndarray:
    """RGB uint8 pixels of any mode; 16-bit and float greys are scaled to 0-255."""
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        grey = np.asarray(img, dtype=np.float64)
        top = float(grey.max()) if grey.size else 0.0
        grey = grey * (255.0 / top) if top > 255 else grey
        grey = np.clip(grey, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    return np.asarray(img.convert("RGB"))


def check_region(x: int, y: int, w: int, h: int, width: int, height: int,
                 field: str = "region") -> Rect:
    v = []
    if x < 0:
        v.append(FieldViolation(f"{field}.x", f"must be >= 0, got {x}"))
    if y < 0:
        v.append(FieldViolation(f"{field}.y", f"must be >= 0, got {y}"))
    if w <= 0:
        v.append(FieldViolation(f"{field}.width", f"must be > 0, got {w}"))
    if h <= 0:
        v.append(FieldViolation(f"{field}.height", f"must be > 0, got {h}"))
    if not v:
        if x + w > width:
            v.append(FieldViolation(f"{field}.width", f"x + width = {x + w} exceeds the image "
                                                      f"width {width}"))
        if y + h > height:
            v.append(FieldViolation(f"{field}.height", f"y + height = {y + h} exceeds the image "
                                                       f"height {height}"))
    if v:
        raise BadInput(v)
    return Rect(x, y, w, h)


def check_fraction(value: float, field: str) -> list[FieldViolation]:
    if math.isnan(value) or value < 0 or value > 1:
        return [FieldViolation(field, f"must be between 0 and 1, got {value}")]
    return []
