"""Everything bound to one X display, and the 16 actions as plain blocking functions.

A `DisplaySession` is created, used and closed on the display thread only (see
display_thread.py): Xlib connections are not thread-safe, and one thread also serialises the
actions, so two requests never interleave their key presses. Bytebot's semantics live here;
the servicer only translates protobuf to these calls.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from Xlib import XK

from services.computer.applications import Applications, AppSpec
from services.computer.clipboard import ClipboardOwner
from services.computer.desktop import BUTTONS, Desktop, Point, pause
from services.computer.screen import Region, ScreenCapture

_CONTROL_L = XK.string_to_keysym("Control_L")
_V = XK.string_to_keysym("v")


@dataclass(frozen=True, slots=True)
class Capture:
    frame: np.ndarray  # BGRX, see screen.py
    pointer: Point | None  # queried only when the cursor is drawn


class DisplaySession:
    """One display: input (XTest), capture (mss), clipboard and applications."""

    def __init__(
        self, display_name: str, applications: dict[str, AppSpec], *, owns_display: bool,
        rebind_grace_seconds: float,
    ) -> None:
        self.display_name = display_name
        self.owns_display = owns_display
        self.desktop = Desktop(display_name, rebind_grace_seconds)
        try:
            self.size = self.desktop.screen_size()
            self.capture = ScreenCapture(display_name)
            self.applications = Applications(self.desktop.display, display_name, applications)
            self.clipboard = ClipboardOwner(display_name)
        except BaseException:
            self.desktop.close()
            raise

    # --- mouse -------------------------------------------------------------------------

    def cursor(self) -> Point:
        return self.desktop.pointer()

    def move_mouse(self, x: int, y: int) -> Point:
        self.desktop.move(x, y)
        return self.desktop.pointer()

    def trace_mouse(
        self, path: Sequence[tuple[int, int]], hold: Sequence[int], stop: threading.Event
    ) -> Point:
        d = self.desktop
        d.move(*path[0])
        with d.holding(hold):
            self._follow(path[1:], stop)
        return d.pointer()

    def _follow(self, path: Sequence[tuple[int, int]], stop: threading.Event) -> None:
        for x, y in path:
            pause(stop, 0)
            self.desktop.move(x, y)
            self.desktop.sync()  # one motion event per point: clients see the whole path

    def click_mouse(
        self, at: tuple[int, int] | None, button: str, hold: Sequence[int], count: int,
        interval: float, stop: threading.Event,
    ) -> Point:
        d = self.desktop
        if at is not None:
            d.move(*at)
        with d.holding(hold):
            d.click(BUTTONS[button], count, interval, stop)
        return d.pointer()

    def press_mouse(self, at: tuple[int, int] | None, button: str, down: bool) -> Point:
        d = self.desktop
        if at is not None:
            d.move(*at)
        d.button(BUTTONS[button], down)
        return d.pointer()

    def drag_mouse(
        self, path: Sequence[tuple[int, int]], button: str, hold: Sequence[int],
        stop: threading.Event,
    ) -> Point:
        d = self.desktop
        d.move(*path[0])
        with d.holding(hold):
            d.button(BUTTONS[button], True)
            try:
                d.sync()
                self._follow(path[1:], stop)
            finally:
                d.button(BUTTONS[button], False)
        return d.pointer()

    def scroll(
        self, at: tuple[int, int] | None, direction: str, count: int, hold: Sequence[int],
        interval: float, stop: threading.Event,
    ) -> Point:
        d = self.desktop
        if at is not None:
            d.move(*at)
        with d.holding(hold):
            d.scroll(direction, count, interval, stop)
        return d.pointer()

    # --- keyboard ----------------------------------------------------------------------

    def type_keys(self, keys: Sequence[int], delay: float, stop: threading.Event) -> Point:
        with self.desktop.holding(keys):
            if delay > 0:
                self.desktop.sync()  # the chord is down for clients before the hold starts
            pause(stop, delay)
        return self.desktop.pointer()

    def press_keys(self, keys: Sequence[int], down: bool) -> Point:
        d = self.desktop
        if not down:
            for keysym in keys:
                d.key_up(keysym)
            return d.pointer()  # the round trip (see desktop.py)
        pressed: list[int] = []
        try:
            for keysym in keys:
                d.key_down(keysym)
                pressed.append(keysym)
        except BaseException:
            for keysym in reversed(pressed):  # all or nothing: no half-pressed chord stays
                d.key_up(keysym)
            raise
        finally:
            d.flush()
        return d.pointer()

    def type_text(self, text: str, delay: float, stop: threading.Event) -> Point:
        self.desktop.type_text(text, delay, stop)
        return self.desktop.pointer()

    def paste_text(self, text: str, stop: threading.Event) -> Point:
        self.clipboard.set_text(text)
        pause(stop, 0)
        with self.desktop.holding([_CONTROL_L]):
            self.desktop.key_down(_V)
            self.desktop.key_up(_V)
        return self.desktop.pointer()

    # --- screen and applications -------------------------------------------------------

    def grab(self, region: Region | None, show_cursor: bool) -> Capture:
        width, height = self.size
        region = region or Region(0, 0, width, height)
        # The pointer position is only needed to draw the fallback marker: skip that round
        # trip otherwise (the XFixes cursor image carries its own position).
        pointer = self.desktop.pointer() if show_cursor else None
        frame = self.capture.grab(region, show_cursor, pointer)
        return Capture(frame, pointer)

    def application(self, name: str) -> bool:
        return self.applications.open(name)

    def check(self) -> tuple[int, int]:
        """A real round trip to the X server; returns the pointer position."""
        p = self.desktop.pointer()
        return p.x, p.y

    def close(self) -> None:
        errors: list[BaseException] = []
        for step in (
            self.clipboard.close,
            self.capture.close,
            lambda: self.applications.close(terminate=self.owns_display),
            self.desktop.close,  # releases every held key and button first
        ):
            try:
                step()
            except BaseException as error:  # keep closing the rest
                errors.append(error)
        if errors:
            raise errors[0]


def wait_for_display(display_name: str, timeout: float) -> None:
    """Block until the display accepts a connection (a desktop can take seconds to start)."""
    from Xlib import error as xerror
    from Xlib.display import Display

    deadline = time.monotonic() + timeout
    delay = 0.05
    while True:
        try:
            Display(display_name).close()
            return
        except (xerror.DisplayError, ConnectionError, OSError) as exc:
            if time.monotonic() + delay > deadline:
                raise TimeoutError(
                    f"display {display_name} did not accept a connection within {timeout:g} s: "
                    f"{exc}"
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
