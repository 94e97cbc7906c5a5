from __future__ import annotations

import pytest

from services.computer.applications import DEFAULT_APPLICATIONS, AppSpec, build_table


def test_bytebots_seven_names_by_default() -> None:
    assert sorted(DEFAULT_APPLICATIONS) == sorted(
        ["firefox", "1password", "thunderbird", "vscode", "terminal", "desktop", "directory"])


def test_settings_add_replace_and_remove() -> None:
    table = build_table({
        "editor": {"command": ["gedit", "--new-window"], "window_class": "gedit"},
        "terminal": {"command": "xterm", "window_class": "XTerm"},
        "1password": None,
    })
    assert table["editor"] == AppSpec(("gedit", "--new-window"), "gedit")
    assert table["terminal"] == AppSpec(("xterm",), "XTerm")
    assert "1password" not in table and "firefox" in table


@pytest.mark.parametrize("entry", [{"command": []}, {"command": [1]}, "xterm", {"window": "x"}])
def test_bad_entries_are_named(entry) -> None:
    with pytest.raises(ValueError, match="applications\\['bad'\\]"):
        build_table({"bad": entry})
