"""Screen capture (mss) and encoding (ISA-L PNG, OpenCV JPEG).

Capture happens on the display thread; encoding is pure CPU work on pixels already copied out
of the X server, so the servicer runs it on another thread (the encoders release the GIL) and
the display thread is free for the next action. The pointer is drawn from the server's real
cursor image (XFixes, through mss) when the server has XFixes, else as a marker at the pointer
position.

Frames stay in mss's BGRX layout as a numpy view of mss's own buffer (no copy) until the one
conversion the encoder needs: BGRX→RGB for PNG, BGRX→BGR for OpenCV's JPEG. Why these
encoders: bench/computer_ops.py prints Pillow vs OpenCV vs ours side by side on the same
frames (PNG ~10x faster than libpng level 1 at a similar size; OpenCV's JPEG, libjpeg-turbo
like Pillow's, skips Pillow's BGRX unpacking).
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import cv2
import mss
import numpy as np
from mss.exception import ScreenShotError

from services.computer.desktop import Point
from services.computer.png_writer import encode_png


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

    def _grab_checked(self, cursor: bool, box: dict[str, int]) -> Any:
        """One mss grab. mss's XCB backend reports a vanished X server with a bare
        AssertionError from its reply check; that is a lost display (UNAVAILABLE), not a bug
        of ours, so it becomes a ScreenShotError and the grabbers reconnect next time."""
        try:
            return self._grabber(cursor).grab(box)
        except AssertionError as error:
            self.close()
            raise ScreenShotError(f"lost the X display {self._display_name}: {error!r}") from None

    def grab(self, region: Region, show_cursor: bool, pointer: Point | None) -> np.ndarray:
        """The pixels of `region` (screen coordinates): an (H, W, 4) BGRX uint8 array."""
        box = {"left": region.x, "top": region.y, "width": region.width, "height": region.height}
        use_xfixes = show_cursor and self._xfixes_cursor
        try:
            shot = self._grab_checked(use_xfixes, box)
        except ScreenShotError as error:
            if not use_xfixes or "XFixes" not in str(error):
                raise
            self._xfixes_cursor = False
            shot = self._grab_checked(False, box)
            use_xfixes = False
        # A view of the fresh bytearray mss made for this shot: ours alone, no copy needed.
        frame = np.asarray(shot).reshape(shot.height, shot.width, 4)
        if show_cursor and not use_xfixes and pointer is not None:
            draw_pointer_marker(frame, pointer.x - region.x, pointer.y - region.y)
        return frame

    def close(self) -> None:
        # Forget the grabbers BEFORE closing them: closing one on a dead connection raises
        # mss's XError half-way, and a second close of the same XCB connection aborts the
        # whole process (double xcb_disconnect).
        grabbers = (self._plain, self._with_cursor)
        self._plain = self._with_cursor = None
        for grabber in grabbers:
            if grabber is not None:
                with suppress(Exception):
                    grabber.close()


_ARROW = np.array([(0, 0), (0, 16), (4, 12), (7, 19), (10, 18), (7, 11), (12, 11)], np.int32)


def draw_pointer_marker(frame: np.ndarray, x: int, y: int) -> None:
    """A black-edged white arrow with its tip at (x, y) on a BGRX/BGR frame (in place)."""
    points = _ARROW + np.array([x, y], np.int32)  # numpy addition, not tuple concatenation
    white, black = (255, 255, 255, 255)[: frame.shape[2]], (0, 0, 0, 255)[: frame.shape[2]]
    cv2.fillPoly(frame, [points], white)
    cv2.polylines(frame, [points], isClosed=True, color=black, thickness=1)


def encode(
    frame: np.ndarray, fmt: str, *, quality: int, scale: float, png_compress_level: int
) -> Encoded:
    """Scale (factor in (0, 1]) and encode a BGRX frame as PNG or JPEG."""
    if scale < 1:
        height, width = frame.shape[:2]
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)  # sharp text when shrunk
    height, width = frame.shape[:2]
    if fmt == "jpeg":
        bgr = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
        ok, buffer = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        data = buffer.tobytes()
    else:
        data = encode_png(cv2.cvtColor(frame, cv2.COLOR_BGRA2RGB), png_compress_level)
    return Encoded(data, fmt, width, height)
