"""ComputerService: Bytebot's 16 desktop actions over gRPC.

Each RPC validates its request against the shared action bounds (libs/actions) and the real
screen size, then runs the action on the display thread and answers with the pointer position.
Every call is counted in `bytebot_computer_operations_total{operation_type,status}` and timed
in `bytebot_computer_operation_duration_seconds`. Text of type_text/paste_text is never put in
a log, span attribute or label (only its length is).
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import computer_pb2, computer_pb2_grpc
from google.protobuf.message import Message
from mss.exception import ScreenShotError
from opentelemetry import trace
from prometheus_client import CollectorRegistry
from Xlib import error as xerror
from Xlib.display import Display

from libs.actions import bounds
from libs.actions.keys import resolve_key
from libs.actions.validation import validate_on_screen, validate_request
from libs.observability.logging import get_logger
from libs.status.errors import (
    Cancelled,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    RpcError,
    Unavailable,
)
from services.computer.applications import build_table
from services.computer.config import ComputerSettings
from services.computer.desktop import Interrupted, Point
from services.computer.display_thread import DisplayThread
from services.computer.files import FileRoot
from services.computer.keyboard import NoSpareKeycode
from services.computer.metrics import OperationMetrics
from services.computer.screen import Region, encode
from services.computer.session import DisplaySession, wait_for_display
from services.computer.xvfb import XvfbProcess, xvfb_installed

T = TypeVar("T")
log = get_logger(__name__)

_BUTTONS = {0: "left", 1: "left", 2: "right", 3: "middle"}
_DIRECTIONS = {1: "up", 2: "down", 3: "left", 4: "right"}
_FORMATS = {"png": common_pb2.IMAGE_FORMAT_PNG, "jpeg": common_pb2.IMAGE_FORMAT_JPEG}


def _seconds(msg: Message, field: str, default: float) -> float:
    if not msg.HasField(field):
        return default
    d = getattr(msg, field)
    return d.seconds + d.nanos / 1e9


def _keysyms(names: Sequence[str]) -> list[int]:
    keys = [resolve_key(name) for name in names]
    return [k.keysym for k in keys if k is not None]  # validated before: none are None


def _point(p: Point) -> common_pb2.Point:
    return common_pb2.Point(x=p.x, y=p.y)


def _xy(msg: Message) -> tuple[int, int] | None:
    return (msg.coordinates.x, msg.coordinates.y) if msg.HasField("coordinates") else None


class ComputerServicer(computer_pb2_grpc.ComputerServiceServicer):
    def __init__(self, settings: ComputerSettings, registry: CollectorRegistry) -> None:
        self.settings = settings
        self.metrics = OperationMetrics(registry)
        self.files = FileRoot(Path(settings.file_root))
        self.applications = build_table(settings.applications)
        self._thread = DisplayThread("x11")
        self._probe_thread = DisplayThread("x11-probe")
        # Screenshot encoding: CPU work off the display thread (the encoders release the GIL),
        # through the same light hop as X11 work rather than asyncio.to_thread's executor.
        self._encode_thread = DisplayThread("encode")
        self._display_name: str | None = None
        self._xvfb: XvfbProcess | None = None
        self._session: DisplaySession | None = None  # touched on the display thread only
        self._probe: Display | None = None  # touched on the probe thread only
        self._size: tuple[int, int] | None = None

    # --- lifecycle (start-up step, readiness check, shutdown hook) ---------------------

    async def start_display(self) -> str:
        """Start-up step: find (or start) the display, wait until it answers, connect."""
        name = self.settings.display or os.environ.get("DISPLAY") or None
        if name is None:
            if not xvfb_installed():
                raise RuntimeError(
                    "no X display: set BYTEBOT_DISPLAY or DISPLAY, or install Xvfb so the "
                    "service can start its own"
                )
            self._xvfb = await asyncio.to_thread(
                XvfbProcess.start, self.settings.xvfb_screen, self.settings.display_timeout_seconds
            )
            name = self._xvfb.display
        self._display_name = name
        await asyncio.to_thread(wait_for_display, name, self.settings.display_timeout_seconds)
        session = await self._thread.run(self._connect)
        self._size = session.size
        log.info(
            "display connected", display=name, own_xvfb=self._xvfb is not None,
            width=session.size[0], height=session.size[1],
            spare_keycodes=session.desktop.keyboard.spare_count,
        )
        return "connected"

    async def check_display(self) -> None:
        """Readiness: a real round trip to the X server on a connection of its own, so a long
        action on the display thread does not make the service look unready."""
        if self._xvfb is not None and not self._xvfb.running():
            raise RuntimeError(f"our Xvfb ({self._display_name}) exited")
        await self._probe_thread.run(self._probe_round_trip)

    def _probe_round_trip(self) -> None:
        if self._display_name is None:
            raise RuntimeError("display not started")
        if self._probe is None:
            self._probe = Display(self._display_name)
        try:
            self._probe.screen().root.query_pointer()
        except (xerror.ConnectionClosedError, OSError):
            with suppress(Exception):
                self._probe.close()
            self._probe = None
            raise

    async def close(self) -> None:
        """Shutdown hook: release held input, close connections, stop our Xvfb."""
        try:
            await self._thread.run(self._disconnect)
            await self._probe_thread.run(self._close_probe)
        finally:
            self._thread.shutdown()
            self._probe_thread.shutdown()
            self._encode_thread.shutdown()
            if self._xvfb is not None:
                await asyncio.to_thread(self._xvfb.stop)
                self._xvfb = None

    def _connect(self) -> DisplaySession:
        assert self._display_name is not None
        self._session = DisplaySession(
            self._display_name, self.applications, owns_display=self._xvfb is not None,
            rebind_grace_seconds=self.settings.keyboard_rebind_grace_seconds,
        )
        return self._session

    def _disconnect(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _close_probe(self) -> None:
        probe, self._probe = self._probe, None
        if probe is not None:
            probe.close()

    def _live_session(self) -> DisplaySession:
        """The display session (display thread), reconnecting after a lost connection."""
        if self._session is None:
            if self._display_name is None:
                raise Unavailable("the display is not started yet")
            try:
                self._connect()
            except Exception as exc:
                raise Unavailable(
                    f"cannot connect to display {self._display_name}: {exc}"
                ) from None
        assert self._session is not None
        return self._session

    # --- plumbing ----------------------------------------------------------------------

    async def _on_display(
        self, fn: Callable[..., T], *args: Any, interruptible: bool = False
    ) -> T:
        """Run a DisplaySession method on the display thread, mapping X failures to statuses."""

        def job(stop: Any) -> T:
            session = self._live_session()
            try:
                return fn(session, *args, stop) if interruptible else fn(session, *args)
            except xerror.ConnectionClosedError:
                with suppress(Exception):
                    self._disconnect()
                raise Unavailable(f"lost the connection to display {self._display_name}") from None
            except Interrupted:
                raise Cancelled("the call was cancelled while the action ran") from None
            except NoSpareKeycode as exc:
                raise FailedPrecondition(str(exc)) from None
            except ScreenShotError as exc:
                raise Unavailable(f"screen capture failed: {exc}") from None
            except TimeoutError as exc:  # the clipboard thread did not answer
                raise Unavailable(str(exc)) from None

        return await self._thread.run(job, interruptible=True)

    async def _operation(
        self, name: str, request: Message, action: Callable[[], Awaitable[T]],
        *, on_screen: bool = True,
    ) -> T:
        """Validate, run and measure one action (metric status success | invalid | error)."""
        started = time.perf_counter()
        status = "error"
        span = trace.get_current_span()
        span.set_attribute("bytebot.computer.operation", name)
        try:
            violations = validate_request(name, request)
            if not violations and on_screen:
                if self._size is None:
                    raise Unavailable("the display is not started yet")
                violations = validate_on_screen(name, request, *self._size)
            if violations:
                raise InvalidArgument(f"invalid {name} request", violations)
            result = await action()
            status = "success"
            return result
        except RpcError as error:
            if isinstance(error, InvalidArgument):
                status = "invalid"
            raise
        finally:
            self.metrics.observe(name, status, time.perf_counter() - started)

    # --- mouse -------------------------------------------------------------------------

    async def MoveMouse(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            c = request.coordinates
            cursor = await self._on_display(DisplaySession.move_mouse, c.x, c.y)
            return computer_pb2.MoveMouseResponse(cursor=_point(cursor))

        return await self._operation("move_mouse", request, act)

    async def TraceMouse(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            path = [(p.x, p.y) for p in request.path]
            cursor = await self._on_display(
                DisplaySession.trace_mouse, path, _keysyms(request.hold_keys), interruptible=True
            )
            return computer_pb2.TraceMouseResponse(cursor=_point(cursor))

        return await self._operation("trace_mouse", request, act)

    async def ClickMouse(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            cursor = await self._on_display(
                DisplaySession.click_mouse, _xy(request), _BUTTONS[request.button],
                _keysyms(request.hold_keys), request.click_count or bounds.DEFAULT_CLICK_COUNT,
                self.settings.click_interval_seconds, interruptible=True,
            )
            return computer_pb2.ClickMouseResponse(cursor=_point(cursor))

        return await self._operation("click_mouse", request, act)

    async def PressMouse(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            cursor = await self._on_display(
                DisplaySession.press_mouse, _xy(request), _BUTTONS[request.button],
                request.press == computer_pb2.PRESS_DOWN,
            )
            return computer_pb2.PressMouseResponse(cursor=_point(cursor))

        return await self._operation("press_mouse", request, act)

    async def DragMouse(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            path = [(p.x, p.y) for p in request.path]
            cursor = await self._on_display(
                DisplaySession.drag_mouse, path, _BUTTONS[request.button],
                _keysyms(request.hold_keys), interruptible=True,
            )
            return computer_pb2.DragMouseResponse(cursor=_point(cursor))

        return await self._operation("drag_mouse", request, act)

    async def Scroll(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            cursor = await self._on_display(
                DisplaySession.scroll, _xy(request), _DIRECTIONS[request.direction],
                request.scroll_count or bounds.DEFAULT_SCROLL_COUNT, _keysyms(request.hold_keys),
                self.settings.scroll_interval_seconds, interruptible=True,
            )
            return computer_pb2.ScrollResponse(cursor=_point(cursor))

        return await self._operation("scroll", request, act)

    # --- keyboard ----------------------------------------------------------------------

    async def TypeKeys(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            delay = _seconds(request, "delay", self.settings.type_keys_delay_seconds)
            cursor = await self._on_display(
                DisplaySession.type_keys, _keysyms(request.keys), delay, interruptible=True
            )
            return computer_pb2.TypeKeysResponse(cursor=_point(cursor))

        return await self._operation("type_keys", request, act)

    async def PressKeys(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            cursor = await self._on_display(
                DisplaySession.press_keys, _keysyms(request.keys),
                request.press == computer_pb2.PRESS_DOWN,
            )
            return computer_pb2.PressKeysResponse(cursor=_point(cursor))

        return await self._operation("press_keys", request, act)

    async def TypeText(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            trace.get_current_span().set_attribute("bytebot.text.length", len(request.text))
            delay = _seconds(request, "delay", self.settings.type_text_delay_seconds)
            cursor = await self._on_display(
                DisplaySession.type_text, request.text, delay, interruptible=True
            )
            return computer_pb2.TypeTextResponse(cursor=_point(cursor))

        return await self._operation("type_text", request, act)

    async def PasteText(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            trace.get_current_span().set_attribute("bytebot.text.length", len(request.text))
            cursor = await self._on_display(
                DisplaySession.paste_text, request.text, interruptible=True
            )
            return computer_pb2.PasteTextResponse(cursor=_point(cursor))

        return await self._operation("paste_text", request, act)

    # --- other -------------------------------------------------------------------------

    async def Wait(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            # A sleep needs no display: it waits on the event loop, not the display thread.
            started = time.monotonic()
            await asyncio.sleep(_seconds(request, "duration", 0.0))
            waited = computer_pb2.WaitResponse()
            waited.waited.FromNanoseconds(int((time.monotonic() - started) * 1e9))
            return waited

        return await self._operation("wait", request, act, on_screen=False)

    async def Screenshot(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            region = None
            if request.HasField("region"):
                r = request.region
                region = Region(r.x, r.y, r.width, r.height)
            capture = await self._on_display(DisplaySession.grab, region, request.show_cursor)
            fmt = "jpeg" if request.format == common_pb2.IMAGE_FORMAT_JPEG else "png"
            encoded = await self._encode_thread.run(functools.partial(
                encode, capture.frame, fmt,
                quality=request.quality or bounds.DEFAULT_JPEG_QUALITY,
                scale=request.scale or 1.0,
                png_compress_level=self.settings.png_compress_level,
            ))
            image = common_pb2.Image(
                data=encoded.data, format=_FORMATS[fmt], width=encoded.width,
                height=encoded.height,
            )
            return computer_pb2.ScreenshotResponse(image=image, size_bytes=len(encoded.data))

        return await self._operation("screenshot", request, act)

    async def CursorPosition(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            position = await self._on_display(DisplaySession.cursor)
            return computer_pb2.CursorPositionResponse(position=_point(position))

        return await self._operation("cursor_position", request, act, on_screen=False)

    async def Application(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            name = request.application
            if name not in self.applications:  # before touching the display
                why = f"unknown application {name!r}; known: {', '.join(sorted(self.applications))}"
                raise InvalidArgument(why, [FieldViolation("application", why)])
            launched = await self._on_display(DisplaySession.application, name)
            return computer_pb2.ApplicationResponse(application=name, launched=launched)

        return await self._operation("application", request, act, on_screen=False)

    async def WriteFile(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            path = await asyncio.to_thread(self.files.write, request.path, request.data)
            return computer_pb2.WriteFileResponse(path=str(path), size=len(request.data))

        return await self._operation("write_file", request, act, on_screen=False)

    async def ReadFile(self, request: Any, context: Any) -> Any:
        async def act() -> Any:
            content = await asyncio.to_thread(self.files.read, request.path)
            return computer_pb2.ReadFileResponse(
                data=content.data, name=content.path.name, size=len(content.data),
                media_type=content.media_type,
            )

        return await self._operation("read_file", request, act, on_screen=False)
