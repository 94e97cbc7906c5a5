from __future__ import annotations

import io

from PIL import Image

from services.computer.keyboard import char_keysym
from services.computer.screen import draw_pointer_marker, encode


def test_png_jpeg_and_scale() -> None:
    image = Image.new("RGB", (200, 100), (10, 200, 30))
    png = encode(image, "png", quality=80, scale=1.0, png_compress_level=1)
    assert png.data.startswith(b"\x89PNG") and (png.width, png.height) == (200, 100)
    assert Image.open(io.BytesIO(png.data)).getpixel((5, 5)) == (10, 200, 30)
    jpeg = encode(image, "jpeg", quality=50, scale=0.25, png_compress_level=1)
    assert jpeg.data.startswith(b"\xff\xd8") and (jpeg.width, jpeg.height) == (50, 25)


def test_pointer_marker_fallback_is_visible() -> None:
    image = Image.new("RGB", (40, 40), (255, 255, 255))
    draw_pointer_marker(image, 10, 10)
    assert image.getpixel((10, 10)) == (0, 0, 0)  # the outlined tip
    assert len(image.getcolors()) > 1


def test_character_keysyms() -> None:
    assert char_keysym("a") == ord("a")
    assert char_keysym("é") == 0xE9
    assert char_keysym("\n") == 0xFF0D  # Return
    assert char_keysym("€") == 0x010020AC  # Unicode keysym
