"""Screen capture (mss) and encoding (Pillow).

Capture happens on the display thread; encoding is pure CPU work on pixels already copied out
of the X server, so the servicer runs it on another thread and the display thread is free for
the next action. The pointer is drawn from the server's real cursor image (XFixes, through
mss) when the server has XFixes, else as a marker at the pointer position.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import mss
from mss.exception import ScreenShotError
from PIL import Image, ImageDraw


@dataclass(frozen=True, slots=True)
class Region:
    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Encoded:
    data: bytes
    format: str  # "png" | "jpeg"
    width: int
    height: int


class ScreenCapture:
    """mss grabbers bound to one display (display thread only)."""

    def __init__(self, display_name: str) -> None:
        self._display_name = display_name
        self._plain: mss.MSS | None = None
        self._with_cursor: mss.MSS | None = None
        self._xfixes_cursor = True  # until the server proves otherwise

    def _grabber(self, cursor: bool) -> mss.MSS:
        if cursor:
            if self._with_cursor is None:
                self._with_cursor = mss.MSS(display=self._display_name, with_cursor=True)
            return self._with_cursor
        if self._plain is None:
            self._plain = mss.MSS(display=self._display_name)
        return self._plain

    def grab(self, region: Region, show_cursor: bool, pointer: tuple[int, int]) -> Image.Image:
        """The pixels of `region` (screen coordinates) as an RGB image."""
        box = {"left": region.x, "top": region.y, "width": region.width, "height": region.height}
        use_xfixes = show_cursor and self._xfixes_cursor
        try:
            shot = self._grabber(use_xfixes).grab(box)
        except ScreenShotError as error:
            if not use_xfixes or "XFixes" not in str(error):
                raise
            self._xfixes_cursor = False
            shot = self._grabber(False).grab(box)
            use_xfixes = False
        image = Image.frombuffer("RGB", shot.size, shot.bgra, "raw", "BGRX", 0, 1)
        if show_cursor and not use_xfixes:
            image = image.copy()  # frombuffer shares mss's buffer; drawing needs our own
            draw_pointer_marker(image, pointer[0] - region.x, pointer[1] - region.y)
        return image

    def close(self) -> None:
        for grabber in (self._plain, self._with_cursor):
            if grabber is not None:
                grabber.close()
        self._plain = self._with_cursor = None


def draw_pointer_marker(image: Image.Image, x: int, y: int) -> None:
    """A black-edged white arrow with its tip at (x, y), visible on any background."""
    arrow = [(0, 0), (0, 16), (4, 12), (7, 19), (10, 18), (7, 11), (12, 11)]
    ImageDraw.Draw(image).polygon(
        [(x + dx, y + dy) for dx, dy in arrow], fill=(255, 255, 255), outline=(0, 0, 0)
    )


def encode(
    image: Image.Image, fmt: str, *, quality: int, scale: float, png_compress_level: int
) -> Encoded:
    """Scale (factor in (0, 1]) and encode as PNG or JPEG."""
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR)
    out = io.BytesIO()
    if fmt == "jpeg":
        image.save(out, "JPEG", quality=quality)
    else:
        image.save(out, "PNG", compress_level=png_compress_level)
    return Encoded(out.getvalue(), fmt, image.width, image.height)
