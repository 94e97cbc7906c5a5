"""The `application` action: focus (and maximise) a running application, else launch it.

Applications come from a table of name → command + window class; only names in the table can
be launched, so a request cannot run arbitrary programs. Bytebot's seven names are the default
table (its desktop image runs XFCE with these programs). A window is found by its WM_CLASS
(instance or class name, ignoring case). With an EWMH window manager the window is activated
with `_NET_ACTIVE_WINDOW` and maximised with `_NET_WM_STATE`; with no window manager (a bare
Xvfb) it is mapped, raised and given the input focus.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from Xlib import X, Xatom, error
from Xlib.display import Display
from Xlib.protocol import event
from Xlib.xobject.drawable import Window

from libs.status.errors import FailedPrecondition, InvalidArgument

SHOW_DESKTOP = "show-desktop"  # the pseudo-command of Bytebot's `desktop` entry


@dataclass(frozen=True, slots=True)
class AppSpec:
    command: tuple[str, ...]
    window_class: str


DEFAULT_APPLICATIONS: dict[str, AppSpec] = {
    "firefox": AppSpec(("firefox-esr",), "Navigator.firefox-esr"),
    "1password": AppSpec(("1password",), "1password.1Password"),
    "thunderbird": AppSpec(("thunderbird",), "Mail.thunderbird"),
    "vscode": AppSpec(("code",), "code.Code"),
    "terminal": AppSpec(("xfce4-terminal",), "xfce4-terminal.Xfce4-terminal"),
    "directory": AppSpec(("thunar",), "Thunar.Thunar"),
    "desktop": AppSpec((SHOW_DESKTOP,), ""),
}


def build_table(overrides: Mapping[str, Any]) -> dict[str, AppSpec]:
    """The default table updated with the `applications` setting (a JSON object).

    `{"name": {"command": ["prog", "arg"], "window_class": "inst.Class"}, "other": null}`:
    entries are added or replaced; `null` removes a default. ValueError names a bad entry.
    """
    table = dict(DEFAULT_APPLICATIONS)
    for name, entry in overrides.items():
        if entry is None:
            table.pop(name, None)
            continue
        command = entry.get("command") if isinstance(entry, dict) else None
        if isinstance(command, str):
            command = [command]
        if not command or not all(isinstance(part, str) and part for part in command):
            raise ValueError(f"applications[{name!r}].command must be a string or list of strings")
        table[name] = AppSpec(tuple(command), str(entry.get("window_class", "")))
    return table


def _class_matches(window: Window, wanted: str) -> bool:
    try:
        wm_class = window.get_wm_class()
    except error.XError:  # the window went away while we looked
        return False
    if not wm_class or not wanted:
        return False
    instance, cls = wm_class
    wanted = wanted.lower()
    return wanted in (f"{instance}.{cls}".lower(), instance.lower(), cls.lower())


class Applications:
    """Focus-or-launch over one display (display thread only, it shares that connection)."""

    def __init__(self, display: Display, display_name: str, table: Mapping[str, AppSpec]) -> None:
        self._display = display
        self._display_name = display_name
        self._root = display.screen().root
        self.table = dict(table)
        self._children: list[subprocess.Popen[bytes]] = []

    def spec(self, name: str) -> AppSpec:
        found = self.table.get(name)
        if found is None:
            known = ", ".join(sorted(self.table))
            raise InvalidArgument(f"unknown application {name!r}; known: {known}")
        return found

    def open(self, name: str) -> bool:
        """Focus `name`'s window, or launch it; True when launched."""
        spec = self.spec(name)
        self._reap()
        if spec.command == (SHOW_DESKTOP,):
            self._show_desktop()
            return False
        window = self.find_window(spec.window_class)
        if window is not None:
            self._focus(window)
            return False
        self._launch(name, spec)
        return True

    def find_window(self, window_class: str) -> Window | None:
        for window in self._top_level_windows():
            if _class_matches(window, window_class):
                return window
        return None

    def _atom(self, name: str) -> int:
        return self._display.intern_atom(name)

    def _wm_supports(self, name: str) -> bool:
        """Whether an EWMH window manager runs and supports the hint `name`."""
        supported = self._root.get_full_property(self._atom("_NET_SUPPORTED"), Xatom.ATOM)
        return supported is not None and self._atom(name) in supported.value

    def _top_level_windows(self) -> Iterator[Window]:
        clients = self._root.get_full_property(self._atom("_NET_CLIENT_LIST"), Xatom.WINDOW)
        if clients is not None:
            for wid in clients.value:
                yield self._display.create_resource_object("window", wid)
            return
        # No window manager: applications' windows are the root's children (or one level
        # below, when something reparented them).
        for child in self._root.query_tree().children:
            yield child
            try:
                yield from child.query_tree().children
            except error.XError:
                continue

    def _client_message(self, window: Window, type_name: str, data: list[int]) -> None:
        message = event.ClientMessage(
            window=window, client_type=self._atom(type_name),
            data=(32, (data + [0] * 5)[:5]),
        )
        self._root.send_event(
            message, event_mask=X.SubstructureRedirectMask | X.SubstructureNotifyMask
        )

    def _focus(self, window: Window) -> None:
        if self._wm_supports("_NET_ACTIVE_WINDOW"):
            # source indication 2 = a pager/tool acting for the user: WMs honour it.
            self._client_message(window, "_NET_ACTIVE_WINDOW", [2, X.CurrentTime, 0])
            if self._wm_supports("_NET_WM_STATE"):
                self._client_message(window, "_NET_WM_STATE", [
                    1,  # _NET_WM_STATE_ADD
                    self._atom("_NET_WM_STATE_MAXIMIZED_VERT"),
                    self._atom("_NET_WM_STATE_MAXIMIZED_HORZ"),
                    2,
                ])
        else:
            window.map()
            window.configure(stack_mode=X.Above)
            window.set_input_focus(X.RevertToParent, X.CurrentTime)
        self._display.sync()

    def _show_desktop(self) -> None:
        if self._wm_supports("_NET_SHOWING_DESKTOP"):
            self._client_message(self._root, "_NET_SHOWING_DESKTOP", [1])
        else:  # no window manager: put every window below the (empty) desktop stack
            for window in self._root.query_tree().children:
                window.configure(stack_mode=X.Below)
        self._display.sync()

    def _launch(self, name: str, spec: AppSpec) -> None:
        program = spec.command[0]
        if shutil.which(program) is None:
            raise FailedPrecondition(
                f"application {name!r} is configured to run {program!r}, which is not "
                "installed on this server"
            )
        env = dict(os.environ, DISPLAY=self._display_name)
        self._children.append(
            subprocess.Popen(  # the table's command, never request text: nothing to inject
                list(spec.command), env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        )

    def _reap(self) -> None:
        """Collect exited children so launched-then-closed apps leave no zombies."""
        self._children = [child for child in self._children if child.poll() is None]

    def close(self, terminate: bool) -> None:
        """Forget launched applications; terminate them when their display goes away with us."""
        self._reap()
        if not terminate:
            self._children.clear()
            return
        for child in self._children:
            if child.poll() is None:
                child.terminate()
        for child in self._children:
            try:
                child.wait(timeout=3)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(timeout=3)
        self._children.clear()
