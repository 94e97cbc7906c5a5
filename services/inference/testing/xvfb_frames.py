"""Screens of real programs under Xvfb for the evaluation set (`tk_screens`, `xterm_screens`):
one fresh Xvfb per split, frames captured the way the computer service captures them."""

from __future__ import annotations

from collections.abc import Callable

import cv2
from PIL import Image

from services.inference.testing.screens import Screen

SCREEN = (1280, 720)


def grab_screen(display: str, size: tuple[int, int] = SCREEN) -> Image.Image:
    """The top-left ``size`` of ``display``'s screen, RGB, through the computer service's
    own capture (mss)."""
    from services.computer.screen import Region, ScreenCapture

    capture = ScreenCapture(display)
    try:
        bgrx = capture.grab(Region(0, 0, *size), show_cursor=False, pointer=None)
        return Image.fromarray(cv2.cvtColor(bgrx, cv2.COLOR_BGRA2RGB))
    finally:
        capture.close()


def grab_split(split: str, count: int, grab: Callable[[int, str], Screen]) -> list[Screen]:
    """``grab(seed, display)`` for the first ``count`` seeds of ``split``, under one fresh
    Xvfb of ``SCREEN``'s size."""
    from services.computer.xvfb import XvfbProcess
    from services.inference.testing.desktop_screens import split_seeds

    xvfb = XvfbProcess.start(screen=f"{SCREEN[0]}x{SCREEN[1]}x24")
    try:
        return [grab(seed, xvfb.display) for seed in split_seeds(split, count)]
    finally:
        xvfb.stop()


__all__ = ["SCREEN", "grab_screen", "grab_split"]
