from __future__ import annotations

import pytest

from libs.actions.keys import resolve_key, unknown_key_message

# The reference's key names (bytebot-facts.md) and what they press.
BYTEBOT_NAMES = {
    "A": "a", "Z": "z", "Num0": "0", "Num9": "9", "F1": "F1", "F24": "F24", "Enter": "Return",
    "Return": "Return", "Escape": "Escape", "Tab": "Tab", "Space": "space",
    "Backspace": "BackSpace", "Delete": "Delete", "Home": "Home", "End": "End",
    "PageUp": "Prior", "PageDown": "Next", "Up": "Up", "Down": "Down", "Left": "Left",
    "Right": "Right", "LeftControl": "Control_L", "RightControl": "Control_R",
    "LeftShift": "Shift_L", "RightShift": "Shift_R", "LeftAlt": "Alt_L", "RightAlt": "Alt_R",
    "LeftSuper": "Super_L", "RightSuper": "Super_R", "Insert": "Insert", "Print": "Print",
    "Menu": "Menu", "Minus": "minus", "Equal": "equal", "Comma": "comma", "Period": "period",
    "Slash": "slash", "Backslash": "backslash", "Semicolon": "semicolon", "Quote": "apostrophe",
    "Grave": "grave", "LeftBracket": "bracketleft", "RightBracket": "bracketright",
    "NumPad0": "KP_0", "NumPad9": "KP_9", "Add": "KP_Add", "Subtract": "KP_Subtract",
    "Multiply": "KP_Multiply", "Divide": "KP_Divide", "Decimal": "KP_Decimal",
    "AudioMute": "XF86AudioMute", "AudioVolUp": "XF86AudioRaiseVolume",
}


@pytest.mark.parametrize(("name", "keysym_name"), BYTEBOT_NAMES.items())
def test_bytebot_names(name: str, keysym_name: str) -> None:
    key = resolve_key(name)
    assert key is not None and key.name == keysym_name


@pytest.mark.parametrize(("name", "keysym_name", "number"), [
    ("ctrl", "Control_L", 0xFFE3), ("Control_L", "Control_L", 0xFFE3), ("Alt", "Alt_L", 0xFFE9),
    ("Super", "Super_L", 0xFFEB), ("Shift", "Shift_L", 0xFFE1), ("Page_Up", "Page_Up", 0xFF55),
    ("Caps_Lock", "Caps_Lock", 0xFFE5), ("KP_0", "KP_0", 0xFFB0), ("KP_Add", "KP_Add", 0xFFAB),
    ("XF86AudioMute", "XF86AudioMute", 0x1008FF12), ("exclam", "exclam", 0x21),
])
def test_keysym_names_and_aliases(name: str, keysym_name: str, number: int) -> None:
    key = resolve_key(name)
    assert key is not None and (key.name, key.keysym) == (keysym_name, number)


def test_exact_match_wins_then_case_is_ignored() -> None:
    assert resolve_key("A").keysym == ord("a")  # Bytebot's A is the a key (exact match)
    assert resolve_key("Aacute").keysym == 0xC1  # exact keysym, capital
    assert resolve_key("AACUTE").keysym == 0xE1  # no exact match: the lower-case keysym
    assert resolve_key("ENTER").name == "Return"
    assert resolve_key("page_up").name == "Page_Up"
    assert resolve_key("CTRL").name == "Control_L"


@pytest.mark.parametrize("name", ["", "Hyperspace", "ctrl+a", " ctrl", "F36", "Num10"])
def test_unknown_keys(name: str) -> None:
    assert resolve_key(name) is None
    assert repr(name) in unknown_key_message(name)
