"""From keysyms and characters to keycodes on the current X keyboard map.

A keysym the map has at level 0 is pressed alone, one it has at level 1 with Shift (the US
layout's `!`, `A`, `{`…). A keysym the map does not have at all (`é`, `€`, `→`, emoji, an
XF86 media key on a bare Xvfb) is bound to a *spare* keycode — one with no keysyms in the map
— with `ChangeKeyboardMapping`, the technique xdotool uses. Bindings are kept, not reverted
after each key: clients translate a key event with the map they fetched after the
`MappingNotify`, so reverting right away can make them see the old (empty) binding. When every
spare keycode is in use, the least recently used ones are rebound, after a grace period since
their last events reached the server: a client fetches the new map only when it gets to those
events, and a loaded client can lag well behind (100 ms was not enough with the machine at
load 15; the grace is the setting `keyboard_rebind_grace_seconds`, default 0.3 s).
`prepare()` rebinds all the keycodes a stretch of text needs at once, so typing more distinct
unmapped characters than there are spare keycodes pays the grace once per stretch, not once
per character. All spare keycodes are restored to empty on `close()`.

Not thread-safe: used only from the display thread.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from Xlib import XK
from Xlib.display import Display

# The rebind grace (`rebind_grace_seconds`, from the service's settings) is how long a rebound
# spare keycode must have been idle, so that clients are done translating the previous key
# event with the previous binding. Why a time at all: nothing on the wire says when a client
# has translated an event.
#
# Known, not understood: twice under Bazel's parallel test load (never in the serial pytest
# pass), the Tk test client typed some characters of a rebound stretch with the bindings those
# keycodes had *before* the rebind (a stale map, the opposite of what the grace guards
# against), so the test that types 48 Greek letters through ~19 spare keycodes failed once and
# passed on Bazel's second attempt. A longer grace (1 s) did not prevent it.

_SHIFT_L = XK.string_to_keysym("Shift_L")

# Characters whose keysym is not the Latin-1 code point.
_CHAR_KEYSYMS = {
    "\n": XK.string_to_keysym("Return"),
    "\r": XK.string_to_keysym("Return"),
    "\t": XK.string_to_keysym("Tab"),
    "\b": XK.string_to_keysym("BackSpace"),
    "\x1b": XK.string_to_keysym("Escape"),
}


class NoSpareKeycode(RuntimeError):
    """The keyboard map has no empty keycode to bind an unmapped keysym to."""


def char_keysym(char: str) -> int:
    """The keysym that types `char`: Latin-1 is its code point, the rest Unicode keysyms."""
    if char in _CHAR_KEYSYMS:
        return _CHAR_KEYSYMS[char]
    code = ord(char)
    if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF:
        return code
    return 0x01000000 | code  # X11 Unicode keysym


@dataclass(frozen=True, slots=True)
class Stroke:
    """How to produce a keysym: this keycode, with Shift held or not."""

    keycode: int
    shift: bool


class Keyboard:
    """Keysym → keycode lookups with spare-keycode binding (see the module comment)."""

    def __init__(self, display: Display, rebind_grace_seconds: float) -> None:
        self._display = display
        self._grace = rebind_grace_seconds
        info = display.display.info
        self._first = info.min_keycode
        count = info.max_keycode - info.min_keycode + 1
        mapping = display.get_keyboard_mapping(self._first, count)
        self._per_keycode = len(mapping[0]) if mapping else 2
        self._lookup: dict[int, Stroke] = {}
        for offset, row in enumerate(mapping):
            keycode = self._first + offset
            for level, keysym in enumerate(row[:2]):
                if keysym and keysym not in self._lookup:
                    self._lookup[keysym] = Stroke(keycode, shift=level == 1)
        # Prefer unshifted strokes: a keysym at level 0 anywhere beats level 1 elsewhere.
        for offset, row in enumerate(mapping):
            if row and row[0]:
                self._lookup[row[0]] = Stroke(self._first + offset, shift=False)
        self._spares = [self._first + i for i, row in enumerate(mapping) if not any(row)]
        # spare keycode → (bound keysym, last use); ordered least recently used first.
        self._bound: OrderedDict[int, tuple[int, float]] = OrderedDict()
        self._shift = self._lookup.get(_SHIFT_L)
        self._synced_at = 0.0  # monotonic time of _bind's last round trip

    @property
    def shift_keycode(self) -> int:
        if self._shift is None:
            raise NoSpareKeycode("the keyboard map has no Shift_L key")
        return self._shift.keycode

    @property
    def spare_count(self) -> int:
        return len(self._spares)

    def stroke(self, keysym: int) -> Stroke:
        """The keycode (and Shift) producing `keysym`, binding a spare keycode if needed."""
        found = self._lookup.get(keysym)
        if found is not None:
            if found.keycode in self._bound:
                self._bound.move_to_end(found.keycode)
                self._bound[found.keycode] = (keysym, time.monotonic())
            return found
        return self._bind(keysym)

    def needs_spare(self, keysym: int) -> bool:
        """Whether `keysym` is missing from the keymap proper (typed with a spare keycode)."""
        found = self._lookup.get(keysym)
        return found is None or found.keycode in self._bound

    def prepare(self, keysyms: set[int]) -> None:
        """Bind every keysym of `keysyms` that is not bound yet, all at once (at most
        `spare_count` of them), recycling the least recently used bindings not among them."""
        missing = [k for k in keysyms if k not in self._lookup]
        if not missing:
            return
        if len(keysyms) > len(self._spares):
            raise NoSpareKeycode("more distinct unmapped keys than spare keycodes")
        free = [k for k in self._spares if k not in self._bound]
        victims = [k for k, (sym, _) in self._bound.items() if sym not in keysyms]
        keycodes = free[: len(missing)]
        keycodes += self._recycle(victims[: len(missing) - len(keycodes)])
        for keysym, keycode in zip(missing, keycodes, strict=True):
            self._assign(keycode, keysym)
        self._display.sync()
        self._synced_at = time.monotonic()

    def _recycle(self, keycodes: list[int]) -> list[int]:
        """Free bound spare keycodes once clients are done with their bindings."""
        if not keycodes:
            return []
        # Key events are only buffered until a flush: the old bindings' last events may not
        # even have reached the server yet. Sync first, and count the grace from when they
        # surely did (now, if they were pressed after the previous sync).
        self._display.sync()
        now = time.monotonic()
        last_use = max(self._bound[k][1] for k in keycodes)
        if last_use > self._synced_at:
            last_use = now
        self._synced_at = now
        idle = now - last_use
        if idle < self._grace:
            time.sleep(self._grace - idle)
        for keycode in keycodes:
            old_keysym, _ = self._bound.pop(keycode)
            self._lookup.pop(old_keysym, None)
        return keycodes

    def _assign(self, keycode: int, keysym: int) -> Stroke:
        # Both levels carry the keysym, so a held Shift does not change what is typed.
        row = [keysym, keysym] + [0] * (self._per_keycode - 2)
        self._display.change_keyboard_mapping(keycode, [row])
        stroke = Stroke(keycode, shift=False)
        self._lookup[keysym] = stroke
        self._bound[keycode] = (keysym, time.monotonic())
        return stroke

    def _bind(self, keysym: int) -> Stroke:
        if not self._spares:
            raise NoSpareKeycode("the keyboard map has no spare keycode to type this key with")
        if len(self._bound) < len(self._spares):
            keycode = next(k for k in self._spares if k not in self._bound)
        else:
            keycode = self._recycle([next(iter(self._bound))])[0]
        stroke = self._assign(keycode, keysym)
        self._display.sync()
        self._synced_at = time.monotonic()
        return stroke

    def close(self) -> None:
        """Give every spare keycode back its empty binding."""
        if not self._bound:
            return
        empty = [0] * self._per_keycode
        for keycode in list(self._bound):
            self._display.change_keyboard_mapping(keycode, [empty])
        self._bound.clear()
        self._display.sync()
