"""Guarded decoding and request checks: every bad input is a field violation, never a crash."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from services.inference.imaging import BadInput, check_fraction, check_region, decode_image

MIB = 1024 * 1024


def encode(img: Image.Image, fmt: str) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


PNG = encode(Image.new("RGB", (64, 32), "#336699"), "PNG")


def violation(data: bytes, declared: int = 0, max_bytes: int = 16 * MIB,
              max_pixels: int = 40_000_000) -> tuple[str, str]:
    with pytest.raises(BadInput) as e:
        decode_image(data, declared, max_bytes, max_pixels)
    (v,) = e.value.violations
    return v.field, v.description


def test_decodes_png_jpeg_and_grey_to_rgb() -> None:
    d = decode_image(PNG, 1, 16 * MIB, 10**7)
    assert (d.width, d.height, d.format) == (64, 32, "PNG")
    assert d.rgb.shape == (32, 64, 3) and d.rgb.dtype == np.uint8
    grey = decode_image(encode(Image.new("L", (10, 5), 7), "JPEG"), 2, 16 * MIB, 10**7)
    assert grey.rgb.shape == (5, 10, 3)


def test_sixteen_bit_grey_and_palette_images_are_read() -> None:
    deep = Image.fromarray(np.array([[0, 30000], [65535, 1000]], dtype=np.uint16))
    d = decode_image(encode(deep, "PNG"), 0, 16 * MIB, 10**7)
    assert d.rgb.dtype == np.uint8 and d.rgb[1, 0, 0] == 255 and d.rgb[0, 0, 0] == 0
    pal = Image.new("P", (4, 4), 3)
    assert decode_image(encode(pal, "GIF"), 0, 16 * MIB, 10**7).rgb.shape == (4, 4, 3)


def test_empty_data() -> None:
    assert violation(b"") == ("image.data", "must not be empty")


def test_not_an_image() -> None:
    field, why = violation(b"hello, this is text and not a picture")
    assert field == "image.data" and "not an image" in why


def test_truncated_png() -> None:
    big = encode(Image.fromarray(np.random.default_rng(1).integers(
        0, 255, (200, 200, 3), dtype=np.uint8)), "PNG")
    field, why = violation(big[: len(big) // 2])
    assert field == "image.data" and "cannot be decoded" in why


def test_unsupported_format_is_rejected_even_if_pillow_reads_it() -> None:
    ico = encode(Image.new("RGB", (16, 16)), "ICO")
    field, why = violation(ico)
    assert field == "image.data" and "supported format" in why


def test_over_the_byte_limit() -> None:
    field, why = violation(PNG, max_bytes=len(PNG) - 1)
    assert field == "image.data" and "limit" in why


def test_declared_format_must_match_the_data() -> None:
    assert violation(PNG, declared=2) == ("image.format", "says JPEG but the data is PNG")


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims to be huge: a decompression bomb's header."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    data = zlib.compress(row * 16, 9)  # far fewer rows than claimed
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def test_decompression_bomb_is_refused_before_decoding() -> None:
    bomb = _png_header_only(50_000, 50_000)
    assert len(bomb) < 10_000
    field, why = violation(bomb)
    assert field == "image.data"
    assert "pixels" in why or "decompression" in why


def test_region_inside_the_image() -> None:
    r = check_region(10, 20, 30, 40, 100, 100)
    assert (r.x, r.y, r.width, r.height) == (10, 20, 30, 40)


@pytest.mark.parametrize(("region", "field"), [
    ((-1, 0, 10, 10), "region.x"),
    ((0, -5, 10, 10), "region.y"),
    ((0, 0, 0, 10), "region.width"),
    ((0, 0, 10, -1), "region.height"),
    ((95, 0, 10, 10), "region.width"),
    ((0, 95, 10, 10), "region.height"),
])
def test_region_outside_the_image(region: tuple[int, int, int, int], field: str) -> None:
    with pytest.raises(BadInput) as e:
        check_region(*region, 100, 100)
    assert field in [v.field for v in e.value.violations]


def test_fractions() -> None:
    assert check_fraction(0.5, "min_confidence") == []
    assert check_fraction(1.5, "min_confidence")[0].field == "min_confidence"
    assert check_fraction(float("nan"), "x")
