"""Mouse and keyboard on an X display through XTest: the primitives the 16 actions are made of.

Every key and button this process presses is tracked until it is released, and the actions
that hold keys do so in `holding()`, which releases them in a `finally`: an action that fails
or is interrupted part-way never leaves a modifier stuck. `release_all()` lets go of anything
still held (on shutdown, and after a `press_keys` that failed half-way).

Round trips: the primitives only *send* requests (`flush`), and every action ends with one
round trip, the `pointer()` query its answer reports: the server handles a client's requests
in order, so that reply also proves every key and button event before it was processed. An
explicit `sync()` is only needed before a pause (so clients see the events before we wait) —
under load each extra round trip waits for the X server to be scheduled.

Not thread-safe (Xlib connections are not): a `Desktop` lives on the display thread.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from Xlib import X
from Xlib.display import Display
from Xlib.ext import xtest

from services.computer.keyboard import Keyboard, char_keysym

BUTTONS = {"left": 1, "middle": 2, "right": 3}
SCROLL_BUTTONS = {"up": 4, "down": 5, "left": 6, "right": 7}


class Interrupted(Exception):
    """The caller gave up (deadline or cancellation) while the action was running."""


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int


class Desktop:
    """One X display connection with XTest input (see the module comment)."""

    def __init__(self, display_name: str, rebind_grace_seconds: float) -> None:
        self.display_name = display_name
        self._display = Display(display_name)
        if not self._display.has_extension("XTEST"):
            self._display.close()
            raise RuntimeError(f"display {display_name} has no XTEST extension")
        self._root = self._display.screen().root
        self.keyboard = Keyboard(self._display, rebind_grace_seconds)
        self._held_keys: dict[int, int] = {}  # keycode → number of holders (chords may repeat)
        self._held_buttons: set[int] = set()

    # --- display -----------------------------------------------------------------------

    @property
    def display(self) -> Display:
        return self._display

    def screen_size(self) -> tuple[int, int]:
        screen = self._display.screen()
        return screen.width_in_pixels, screen.height_in_pixels

    def pointer(self) -> Point:
        reply = self._root.query_pointer()  # a round trip: also proves the server answers
        return Point(reply.root_x, reply.root_y)

    def pressed_keycodes(self) -> set[int]:
        """Keycodes the server considers down right now (QueryKeymap)."""
        keymap = self._display.query_keymap()
        return {i * 8 + bit for i, byte in enumerate(keymap) for bit in range(8) if byte >> bit & 1}

    def held(self) -> tuple[set[int], set[int]]:
        """(keycodes, buttons) this process pressed and has not released."""
        return set(self._held_keys), set(self._held_buttons)

    def sync(self) -> None:
        """A round trip: the server has processed everything sent before."""
        self._display.sync()

    def flush(self) -> None:
        """Send what is buffered, without waiting (see the module comment)."""
        self._display.flush()

    # --- mouse -------------------------------------------------------------------------

    def move(self, x: int, y: int) -> None:
        xtest.fake_input(self._display, X.MotionNotify, x=x, y=y)

    def button(self, button: int, down: bool) -> None:
        xtest.fake_input(self._display, X.ButtonPress if down else X.ButtonRelease, button)
        if down:
            self._held_buttons.add(button)
        else:
            self._held_buttons.discard(button)

    def click(self, button: int, count: int, interval: float, stop: threading.Event) -> None:
        for i in range(count):
            if i:
                self._display.sync()  # the previous click reaches clients before we pause
                pause(stop, interval)
            try:
                self.button(button, True)
            finally:
                self.button(button, False)

    def scroll(self, direction: str, count: int, interval: float, stop: threading.Event) -> None:
        self.click(SCROLL_BUTTONS[direction], count, interval, stop)

    # --- keyboard ----------------------------------------------------------------------

    def key_down(self, keysym: int) -> None:
        stroke = self.keyboard.stroke(keysym)
        if stroke.shift:
            self._press_keycode(self.keyboard.shift_keycode)
        self._press_keycode(stroke.keycode)

    def key_up(self, keysym: int) -> None:
        stroke = self.keyboard.stroke(keysym)
        self._release_keycode(stroke.keycode)
        if stroke.shift:
            self._release_keycode(self.keyboard.shift_keycode)

    def _press_keycode(self, keycode: int) -> None:
        xtest.fake_input(self._display, X.KeyPress, keycode)
        self._held_keys[keycode] = self._held_keys.get(keycode, 0) + 1

    def _release_keycode(self, keycode: int, *, force: bool = False) -> None:
        holders = self._held_keys.get(keycode, 0) - 1
        if holders > 0 and not force:
            self._held_keys[keycode] = holders  # still held by an outer chord / press_keys
            return
        xtest.fake_input(self._display, X.KeyRelease, keycode)
        self._held_keys.pop(keycode, None)

    @contextmanager
    def holding(self, keysyms: Sequence[int]) -> Iterator[None]:
        """Hold keys down for the body; release them (in reverse order) whatever happens."""
        pressed: list[int] = []
        try:
            for keysym in keysyms:
                self.key_down(keysym)
                pressed.append(keysym)
            yield
        finally:
            for keysym in reversed(pressed):
                self.key_up(keysym)
            self._display.flush()

    def type_text(self, text: str, delay: float, stop: threading.Event) -> None:
        """Type text character by character (US layout; see keyboard.py for the rest)."""
        keysyms = [char_keysym(char) for char in text]
        for start, end, unmapped in self._stretches(keysyms):
            self.keyboard.prepare(unmapped)  # binds them all at once (see keyboard.py)
            for i in range(start, end):
                if stop.is_set():
                    raise Interrupted
                if i and delay > 0:
                    self._display.sync()
                    pause(stop, delay)
                self.key_down(keysyms[i])
                self.key_up(keysyms[i])
        self._display.flush()  # one batch; the caller's pointer query is the round trip

    def _stretches(self, keysyms: list[int]) -> Iterator[tuple[int, int, set[int]]]:
        """Cut the text into stretches of at most `spare_count` distinct unmapped keysyms."""
        limit = max(1, self.keyboard.spare_count)  # 0 spares: typing one raises NoSpareKeycode
        start, unmapped = 0, set[int]()
        for i, keysym in enumerate(keysyms):
            if self.keyboard.needs_spare(keysym) and keysym not in unmapped:
                if len(unmapped) == limit:
                    yield start, i, unmapped
                    start, unmapped = i, set()
                unmapped.add(keysym)
        yield start, len(keysyms), unmapped

    def release_all(self) -> None:
        """Release every key and button this process still holds."""
        for keycode in list(self._held_keys):
            self._release_keycode(keycode, force=True)
        for button in list(self._held_buttons):
            self.button(button, False)
        self._display.sync()

    def close(self) -> None:
        try:
            self.release_all()
            self.keyboard.close()
        finally:
            self._display.close()


def pause(stop: threading.Event, seconds: float) -> None:
    """Sleep, but wake up and raise `Interrupted` as soon as the caller gives up."""
    if seconds <= 0:
        if stop.is_set():
            raise Interrupted
        return
    if stop.wait(seconds):
        raise Interrupted
