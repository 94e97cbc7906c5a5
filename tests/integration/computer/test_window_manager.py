"""The `application` action under a real EWMH window manager (Debian's openbox on its own
Xvfb): focusing goes through `_NET_ACTIVE_WINDOW` and maximises with `_NET_WM_STATE`, and
`desktop` sets `_NET_SHOWING_DESKTOP` — the path a desktop image with a window manager takes
(the other tests run on a bare X server, where the service raises and focuses windows itself).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from bytebot.computer.v1 import computer_pb2 as pb
from bytebot.computer.v1 import computer_pb2_grpc
from Xlib import X, Xatom
from Xlib.display import Display

from services.computer.xvfb import XvfbProcess
from tests.integration.computer.conftest import service_overrides, wait_until
from tests.support.service_thread import ServiceThread

if shutil.which("openbox") is None:  # pragma: no cover - CI installs it
    pytest.skip("openbox is not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def desktop() -> Iterator[tuple[XvfbProcess, Display]]:
    """An Xvfb with openbox managing it, and a connection to read its root properties."""
    xvfb = XvfbProcess.start("1280x960x24")
    wm = subprocess.Popen(["openbox", "--sm-disable"], env={**os.environ, "DISPLAY": xvfb.display},
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    display = Display(xvfb.display)
    try:
        wait_until(lambda: _root_property(display, "_NET_SUPPORTING_WM_CHECK", Xatom.WINDOW),
                   15, "openbox to manage the display")
        yield xvfb, display
    finally:
        display.close()
        wm.terminate()
        wm.wait(10)
        xvfb.stop()


@pytest.fixture(scope="module")
def stub(desktop: tuple[XvfbProcess, Display],
         tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from services.computer.main import ENTRY

    xvfb, _ = desktop
    root = tmp_path_factory.mktemp("wm-desktop")
    runner = ServiceThread(ENTRY, service_overrides(xvfb.display, root)).start()
    try:
        with grpc.insecure_channel(runner.service.grpc_target) as channel:
            yield computer_pb2_grpc.ComputerServiceStub(channel)
    finally:
        runner.stop()


def _root_property(display: Display, name: str, kind: int) -> list[int] | None:
    prop = display.screen().root.get_full_property(display.intern_atom(name), kind)
    return list(prop.value) if prop is not None else None


def _recorder_window(display: Display) -> Any:
    for wid in _root_property(display, "_NET_CLIENT_LIST", Xatom.WINDOW) or []:
        window = display.create_resource_object("window", wid)
        wm_class = window.get_wm_class()
        if wm_class and wm_class[1] == "Recorder":
            return window
    return None


def _active_window(display: Display) -> int | None:
    active = _root_property(display, "_NET_ACTIVE_WINDOW", Xatom.WINDOW)
    return active[0] if active else None


def test_application_activates_and_maximises_through_the_window_manager(desktop, stub) -> None:
    _, display = desktop
    first = stub.Application(pb.ApplicationRequest(application="recorder"))
    assert first.launched is True
    recorder = wait_until(lambda: _recorder_window(display), 15, "openbox to list the window")

    # Another window takes the focus: the recorder is no longer the active one.
    other = display.screen().root.create_window(0, 0, 200, 100, 0, X.CopyFromParent)
    other.set_wm_class("other", "Other")
    other.map()
    display.sync()
    wait_until(lambda: _active_window(display) not in (None, recorder.id), 10,
               "the other window to become active")

    second = stub.Application(pb.ApplicationRequest(application="recorder"))
    assert second.launched is False  # found, not started again
    wait_until(lambda: _active_window(display) == recorder.id, 10,
               "_NET_ACTIVE_WINDOW to name the recorder")

    def maximised() -> bool:
        state = recorder.get_full_property(display.intern_atom("_NET_WM_STATE"), Xatom.ATOM)
        held = set(state.value) if state is not None else set()
        return {display.intern_atom("_NET_WM_STATE_MAXIMIZED_VERT"),
                display.intern_atom("_NET_WM_STATE_MAXIMIZED_HORZ")} <= held

    wait_until(maximised, 10, "the recorder to be maximised")
    other.destroy()
    display.sync()


def test_desktop_asks_the_window_manager_to_show_the_desktop(desktop, stub) -> None:
    _, display = desktop
    reply = stub.Application(pb.ApplicationRequest(application="desktop"))
    assert reply.launched is False
    wait_until(lambda: _root_property(display, "_NET_SHOWING_DESKTOP", Xatom.CARDINAL) == [1],
               10, "_NET_SHOWING_DESKTOP = 1")
