from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from services.computer.keyboard import char_keysym
from services.computer.png_writer import encode_png
from services.computer.screen import draw_pointer_marker, encode


def bgrx(rgb: tuple[int, int, int], width: int = 200, height: int = 100) -> np.ndarray:
    frame = np.zeros((height, width, 4), np.uint8)
    frame[:, :, :3] = rgb[::-1]
    return frame


def test_png_jpeg_and_scale() -> None:
    frame = bgrx((10, 200, 30))
    png = encode(frame, "png", quality=80, scale=1.0, png_compress_level=1)
    assert png.data.startswith(b"\x89PNG") and (png.width, png.height) == (200, 100)
    assert Image.open(io.BytesIO(png.data)).getpixel((5, 5)) == (10, 200, 30)
    jpeg = encode(frame, "jpeg", quality=50, scale=0.25, png_compress_level=1)
    assert jpeg.data.startswith(b"\xff\xd8") and (jpeg.width, jpeg.height) == (50, 25)
    r, g, b = Image.open(io.BytesIO(jpeg.data)).convert("RGB").getpixel((10, 10))
    assert abs(r - 10) < 8 and abs(g - 200) < 8 and abs(b - 30) < 8


@pytest.mark.parametrize("level", [0, 1, 3, 6, 9])
def test_png_is_lossless_on_noise_and_edges(level: int) -> None:
    rng = np.random.default_rng(level)
    rgb = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)  # odd sizes, every byte value
    rgb[10:20] = 255  # flat band: Up filter gives zero runs, and wraps around below it
    data = encode_png(rgb, level)
    decoded = Image.open(io.BytesIO(data))
    decoded.load()  # checks every chunk's CRC and the zlib stream
    assert decoded.mode == "RGB" and decoded.size == (53, 37)
    assert np.array_equal(np.asarray(decoded), rgb)


def test_png_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="level"):
        encode_png(np.zeros((2, 2, 3), np.uint8), 10)
    with pytest.raises(ValueError, match="uint8"):
        encode_png(np.zeros((2, 2, 4), np.uint8))


def test_pointer_marker_fallback_is_visible() -> None:
    frame = bgrx((255, 255, 255), 40, 40)
    draw_pointer_marker(frame, 10, 10)
    assert tuple(frame[10, 10, :3]) == (0, 0, 0)  # the outlined tip
    assert tuple(frame[18, 13, :3]) == (255, 255, 255)  # white inside the outline
    assert len(np.unique(frame[:, :, :3].reshape(-1, 3), axis=0)) > 1


def test_character_keysyms() -> None:
    assert char_keysym("a") == ord("a")
    assert char_keysym("é") == 0xE9
    assert char_keysym("\n") == 0xFF0D  # Return
    assert char_keysym("€") == 0x010020AC  # Unicode keysym
