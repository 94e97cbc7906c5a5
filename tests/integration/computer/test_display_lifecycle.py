"""The servicer's display lifecycle against Xvfb servers of its own: exact motion paths seen
by a raw X client, readiness failing when the display dies, and our own Xvfb stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import computer_pb2 as pb
from prometheus_client import CollectorRegistry
from Xlib import X
from Xlib import error as xerror
from Xlib.display import Display

from libs.status.errors import RpcError
from services.computer.config import ComputerSettings
from services.computer.servicer import ComputerServicer
from services.computer.xvfb import XvfbProcess


def run(coro):
    return asyncio.run(coro)


def test_drag_path_is_followed_point_by_point(tmp_path: Path) -> None:
    xvfb = XvfbProcess.start("640x480x24")
    servicer = ComputerServicer(ComputerSettings(display=xvfb.display, file_root=str(tmp_path)),
                                CollectorRegistry())
    watcher = Display(xvfb.display)
    try:
        # A raw X client: unlike Tk it never merges motion events, so every point is visible.
        window = watcher.screen().root.create_window(
            0, 0, 640, 480, 0, X.CopyFromParent,
            event_mask=X.PointerMotionMask | X.ButtonPressMask | X.ButtonReleaseMask)
        window.map()
        watcher.sync()
        path = [(10 + 7 * i, 20 + 3 * i) for i in range(50)]

        async def scenario() -> None:
            await servicer.start_display()
            try:
                await servicer.DragMouse(pb.DragMouseRequest(
                    path=[common_pb2.Point(x=x, y=y) for x, y in path]), None)
            finally:
                await servicer.close()

        run(scenario())
        watcher.sync()
        events = []
        while watcher.pending_events():
            ev = watcher.next_event()
            events.append((ev.type, ev.root_x, ev.root_y, ev.state & X.Button1Mask))
        start = next(i for i, e in enumerate(events) if e[0] == X.ButtonPress)
        assert events[start][1:3] == path[0]
        motions = [(x, y) for kind, x, y, held in events[start:] if kind == X.MotionNotify]
        assert motions == path[1:]
        assert all(held for kind, _, _, held in events[start + 1:-1])
        assert events[-1][:3] == (X.ButtonRelease, *path[-1])
    finally:
        watcher.close()
        xvfb.stop()


def test_readiness_fails_and_actions_are_unavailable_when_the_display_dies(tmp_path) -> None:
    xvfb = XvfbProcess.start("320x240x24")
    servicer = ComputerServicer(ComputerSettings(display=xvfb.display, file_root=str(tmp_path)),
                                CollectorRegistry())

    async def scenario() -> None:
        assert await servicer.start_display() == "connected"
        await servicer.check_display()
        reply = await servicer.CursorPosition(pb.CursorPositionRequest(), None)
        assert reply.position.x >= 0
        shot = await servicer.Screenshot(pb.ScreenshotRequest(), None)  # grabbers connected
        assert shot.image.width == 320
        xvfb.stop()
        # mss reports the vanished server with a bare AssertionError: still UNAVAILABLE
        with pytest.raises(RpcError) as lost:
            await servicer.Screenshot(pb.ScreenshotRequest(), None)
        assert lost.value.code == grpc.StatusCode.UNAVAILABLE, lost.value
        with pytest.raises((xerror.ConnectionClosedError, OSError, xerror.DisplayError)):
            await servicer.check_display()
        with pytest.raises(RpcError) as failure:
            await servicer.MoveMouse(
                pb.MoveMouseRequest(coordinates=common_pb2.Point(x=1, y=1)), None)
        assert failure.value.code == grpc.StatusCode.UNAVAILABLE
        await servicer.close()

    try:
        run(scenario())
    finally:
        xvfb.stop()


def test_own_xvfb_is_started_without_a_display_and_stopped_on_close(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    servicer = ComputerServicer(ComputerSettings(file_root=str(tmp_path), xvfb_screen="800x600x24"),
                                CollectorRegistry())

    async def scenario() -> str:
        await servicer.start_display()
        own = servicer._xvfb
        assert own is not None and own.running()
        shot = await servicer.Screenshot(pb.ScreenshotRequest(), None)
        assert (shot.image.width, shot.image.height) == (800, 600)
        await servicer.close()
        assert not own.running()
        return own.display

    display = run(scenario())
    with pytest.raises((xerror.DisplayError, OSError)):
        Display(display).close()
