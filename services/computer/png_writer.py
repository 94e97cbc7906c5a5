"""A fast lossless PNG writer for screenshots: one filter, ISA-L deflate.

Measured on 1280x960 frames (bench/computer_ops.py, "encode only"): libpng (Pillow or OpenCV)
at zlib level 1 spends most of its time in zlib's deflate and in choosing a filter per row;
ISA-L's deflate (the `isal` package) at its level 1 is ~10x faster than zlib level 1 for
about the same size once rows are filtered. Every row gets the same filter, computed with one
numpy pass: Up (the difference to the row above) — screenshots are mostly flat areas, window
edges and text, where Up and Sub both make long zero runs; on the bench's desktop frame Up
gave 357 KiB, Sub 406, no filter 484 (libpng's per-row choice at zlib level 1: 343). The
output is a standard 8-bit RGB PNG (any decoder reads it).

Levels: 0-3 are ISA-L's levels (0 fastest); 4-9 use zlib at that level for smaller files
at several times the cost. Both release the GIL while compressing.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
from isal import isal_zlib

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FILTER_UP = 2
_ISAL_MAX_LEVEL = 3


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(tag))
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def filter_up(rgb: np.ndarray) -> np.ndarray:
    """PNG scanlines (filter byte + Up-filtered bytes) of an (H, W, 3) uint8 image."""
    height = rgb.shape[0]
    flat = rgb.reshape(height, -1)
    rows = np.empty((height, flat.shape[1] + 1), np.uint8)
    rows[:, 0] = _FILTER_UP
    rows[0, 1:] = flat[0]  # the row "above" the first one is all zeros
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])  # uint8 arithmetic wraps: mod 256
    return rows


def encode_png(rgb: np.ndarray, level: int = 1) -> bytes:
    """A PNG of an (H, W, 3) uint8 RGB image; `level` 0-9 (see the module comment)."""
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an (H, W, 3) uint8 image, got {rgb.shape} {rgb.dtype}")
    if not 0 <= level <= 9:
        raise ValueError(f"PNG compression level must be 0-9, got {level}")
    height, width = rgb.shape[:2]
    rows = filter_up(np.ascontiguousarray(rgb))
    if level <= _ISAL_MAX_LEVEL:
        data = isal_zlib.compress(rows, level)
    else:
        data = zlib.compress(rows, level)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"".join(
        (_SIGNATURE, _chunk(b"IHDR", header), _chunk(b"IDAT", data), _chunk(b"IEND", b""))
    )
