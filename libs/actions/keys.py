"""Key names of the desktop actions: X keysym names, their aliases, and Bytebot's names.

Bytebot's daemon accepts X keysym names (`Control_L`, `Page_Up`, `KP_Add`…), a few aliases
(`ctrl`, `alt`, `super`…) and the nut.js key names (`LeftControl`, `Num0`, `NumPad0`,
`AudioVolUp`…). A name is matched exactly first, then ignoring case; anything else is an
error naming the key. Both the tasks service (validating a task's steps) and the computer
service (pressing keys) use this one table, so a step accepted at submission is a step the
desktop can press.

`resolve_key()` needs no display: it maps a name to an X keysym number using python-xlib's
keysym tables only.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import lru_cache

from Xlib import XK

# Groups of python-xlib's keysym tables worth accepting by name (latin1 and miscellany are
# loaded by default). Scripts such as Thai or Katakana are reachable through `type_text`.
_KEYSYM_GROUPS = ("xkb", "xf86", "latin2", "latin3", "latin4", "greek", "cyrillic",
                  "technical", "special", "publishing")

# Bytebot's (nut.js) key names → X keysym names. Letters and digits are the physical keys
# (`A` presses the `a` key, as nut.js does; hold Shift for a capital).
_NUTJS: dict[str, str] = {
    **{c: c.lower() for c in string.ascii_uppercase},
    **{f"Num{d}": d for d in string.digits},
    **{f"NumPad{d}": f"KP_{d}" for d in string.digits},
    **{f"F{n}": f"F{n}" for n in range(1, 25)},
    "Enter": "Return",
    "Return": "Return",
    "Escape": "Escape",
    "Tab": "Tab",
    "Space": "space",
    "Backspace": "BackSpace",
    "Delete": "Delete",
    "Home": "Home",
    "End": "End",
    "PageUp": "Prior",
    "PageDown": "Next",
    "Up": "Up",
    "Down": "Down",
    "Left": "Left",
    "Right": "Right",
    "LeftControl": "Control_L",
    "RightControl": "Control_R",
    "LeftShift": "Shift_L",
    "RightShift": "Shift_R",
    "LeftAlt": "Alt_L",
    "RightAlt": "Alt_R",
    "LeftSuper": "Super_L",
    "RightSuper": "Super_R",
    "LeftWin": "Super_L",
    "RightWin": "Super_R",
    "LeftCmd": "Super_L",
    "RightCmd": "Super_R",
    "Insert": "Insert",
    "Print": "Print",
    "Pause": "Pause",
    "ScrollLock": "Scroll_Lock",
    "CapsLock": "Caps_Lock",
    "NumLock": "Num_Lock",
    "Menu": "Menu",
    "Minus": "minus",
    "Equal": "equal",
    "Comma": "comma",
    "Period": "period",
    "Slash": "slash",
    "Backslash": "backslash",
    "Semicolon": "semicolon",
    "Quote": "apostrophe",
    "Grave": "grave",
    "LeftBracket": "bracketleft",
    "RightBracket": "bracketright",
    "Add": "KP_Add",
    "Subtract": "KP_Subtract",
    "Multiply": "KP_Multiply",
    "Divide": "KP_Divide",
    "Decimal": "KP_Decimal",
    "Clear": "Clear",
    "AudioMute": "XF86AudioMute",
    "AudioVolDown": "XF86AudioLowerVolume",
    "AudioVolUp": "XF86AudioRaiseVolume",
    "AudioPlay": "XF86AudioPlay",
    "AudioStop": "XF86AudioStop",
    "AudioPause": "XF86AudioPause",
    "AudioPrev": "XF86AudioPrev",
    "AudioNext": "XF86AudioNext",
    "AudioRewind": "XF86AudioRewind",
    "AudioForward": "XF86AudioForward",
    "AudioRepeat": "XF86AudioRepeat",
    "AudioRandom": "XF86AudioRandomPlay",
}

# Short names people (and language models) use for keys, as xdotool accepts them.
_ALIASES: dict[str, str] = {
    "ctrl": "Control_L",
    "control": "Control_L",
    "alt": "Alt_L",
    "shift": "Shift_L",
    "super": "Super_L",
    "win": "Super_L",
    "meta": "Meta_L",
    "cmd": "Super_L",
    "command": "Super_L",
    "esc": "Escape",
    "del": "Delete",
    "enter": "Return",
    "backspace": "BackSpace",
    "pgup": "Prior",
    "pgdn": "Next",
    "pageup": "Prior",
    "pagedown": "Next",
    "capslock": "Caps_Lock",
    "altgr": "ISO_Level3_Shift",
}


@dataclass(frozen=True, slots=True)
class Key:
    """A resolved key: the canonical X keysym name and its number."""

    name: str
    keysym: int


@lru_cache(maxsize=1)
def _keysym_names() -> dict[str, int]:
    """Every X keysym name python-xlib knows, spelled as X spells it (`XF86AudioMute`)."""
    for group in _KEYSYM_GROUPS:
        XK.load_keysym_group(group)
    names: dict[str, int] = {}
    for attr, value in vars(XK).items():
        if not attr.startswith("XK_") or not isinstance(value, int):
            continue
        name = attr[3:]
        if name.startswith("XF86_"):  # python-xlib spells XF86AudioMute as XF86_AudioMute
            names[name] = value
            name = "XF86" + name[5:]
        names.setdefault(name, value)
    return names


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[str, Key], dict[str, Key]]:
    """(exact, lower-cased) lookup tables; Bytebot's names and aliases win over keysyms."""
    keysyms = _keysym_names()
    exact: dict[str, Key] = {}
    for table in (_NUTJS, _ALIASES):
        for name, target in table.items():
            exact.setdefault(name, Key(target, keysyms[target]))
    for name, value in keysyms.items():
        exact.setdefault(name, Key(name, value))
    folded: dict[str, Key] = {}
    # Bytebot names first, then aliases, then keysyms; among keysyms that differ only by
    # case (`Aacute`/`aacute`) the lower-case one, the unshifted key, wins.
    for name in [*_NUTJS, *_ALIASES, *sorted(keysyms, key=lambda n: (n != n.lower(), n))]:
        folded.setdefault(name.lower(), exact[name])
    return exact, folded


def resolve_key(name: str) -> Key | None:
    """The key called `name` (exact match, then ignoring case), or None when unknown."""
    exact, folded = _tables()
    return exact.get(name) or folded.get(name.lower())


def unknown_key_message(name: str) -> str:
    """The description of an unknown key, naming it (quoted, so blanks are visible)."""
    return (
        f"unknown key {name!r}: use an X keysym name (Control_L, Page_Up, KP_0…), an alias "
        "(ctrl, alt, shift, super…) or a Bytebot key name (A-Z, Num0-Num9, F1-F24, Enter, "
        "LeftControl…)"
    )
