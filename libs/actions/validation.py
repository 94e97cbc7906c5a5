"""Validation of desktop actions: every bound of the reference, reported as field violations.

Two layers, because the tasks service does not know the screen:

- `validate_action(action)` / `validate_request(name, request)`: everything that can be checked
  from the message alone (counts, durations, path lengths, text lengths, key names, enums,
  required fields, negative coordinates).
- `validate_on_screen(name, request, width, height)`: coordinates, path points and regions
  inside a screen of that size (the computer service calls it with the real screen size).

Field paths are relative to the message validated, under an optional prefix, so the same
checks report `click_count` for a ClickMouse RPC, `click_mouse.click_count` for an Action and
`steps[3].click_mouse.click_count` for a task's step. Text that may be sensitive is never
quoted in a description.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from bytebot.computer.v1 import action_pb2, computer_pb2
from google.protobuf.message import Message

from libs.actions import bounds
from libs.actions.keys import resolve_key, unknown_key_message
from libs.status.errors import FieldViolation

# Bytebot's 16 desktop action names (the `Action` oneof fields, also metric label values).
DESKTOP_ACTIONS: tuple[str, ...] = (
    "move_mouse", "trace_mouse", "click_mouse", "press_mouse", "drag_mouse", "scroll",
    "type_keys", "press_keys", "type_text", "paste_text", "wait", "screenshot",
    "cursor_position", "application", "write_file", "read_file",
)
OCR_ACTIONS: tuple[str, ...] = ("find_text", "click_text")


class _Checker:
    """Collects violations under a field prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.violations: list[FieldViolation] = []

    def path(self, field: str) -> str:
        return f"{self.prefix}.{field}" if self.prefix else field

    def add(self, field: str, description: str) -> None:
        self.violations.append(FieldViolation(self.path(field), description))

    def int_range(self, msg: Message, field: str, low: int, high: int, *, zero_ok: bool) -> None:
        value = getattr(msg, field)
        if value == 0 and zero_ok:
            return
        if not low <= value <= high:
            extra = " (0 means the default)" if zero_ok else ""
            self.add(field, f"must be between {low} and {high}{extra}, got {value}")

    def enum(self, msg: Message, field: str, *, required: bool) -> None:
        value = getattr(msg, field)
        enum_type = msg.DESCRIPTOR.fields_by_name[field].enum_type
        if value not in enum_type.values_by_number:
            self.add(field, f"unknown {enum_type.name} value {value}")
        elif required and value == 0:
            names = [v.name for v in enum_type.values if v.number != 0]
            self.add(field, f"is required: one of {', '.join(names)}")

    def duration(self, msg: Message, field: str, max_seconds: float) -> None:
        if not msg.HasField(field):
            return
        d = getattr(msg, field)
        if d.seconds < 0 or d.nanos < 0:
            self.add(field, "must not be negative")
        elif d.nanos > 999_999_999:
            self.add(field, f"nanos must be below 1e9, got {d.nanos}")
        elif (seconds := d.seconds + d.nanos / 1e9) > max_seconds:
            self.add(field, f"must be at most {max_seconds:g} s, got {seconds:g} s")

    def point(self, field: str, point: Any) -> None:
        if point.x < 0 or point.y < 0:
            self.add(field, f"coordinates must not be negative, got ({point.x}, {point.y})")

    def optional_point(self, msg: Message, field: str, *, required: bool = False) -> None:
        if msg.HasField(field):
            self.point(field, getattr(msg, field))
        elif required:
            self.add(field, "is required")

    def path_points(self, msg: Message, field: str) -> None:
        points = getattr(msg, field)
        if not bounds.MIN_PATH_POINTS <= len(points) <= bounds.MAX_PATH_POINTS:
            self.add(field, f"must have between {bounds.MIN_PATH_POINTS} and "
                            f"{bounds.MAX_PATH_POINTS} points, got {len(points)}")
        for i, point in enumerate(points[: bounds.MAX_PATH_POINTS]):
            self.point(f"{field}[{i}]", point)

    def keys(self, msg: Message, field: str, *, required: bool) -> None:
        names: Sequence[str] = getattr(msg, field)
        if required and not names:
            self.add(field, "must name at least one key")
        if len(names) > bounds.MAX_KEYS:
            self.add(field, f"must have at most {bounds.MAX_KEYS} keys, got {len(names)}")
        for i, name in enumerate(names[: bounds.MAX_KEYS]):
            if resolve_key(name) is None:
                self.add(f"{field}[{i}]", unknown_key_message(name))

    def text_length(self, msg: Message, field: str, low: int, high: int) -> None:
        # Only the length is reported: the text itself may be a password.
        n = len(getattr(msg, field))
        if not low <= n <= high:
            self.add(field, f"must have between {low} and {high} characters, got {n}")

    def region(self, msg: Message, field: str) -> None:
        if not msg.HasField(field):
            return
        r = getattr(msg, field)
        if r.x < 0 or r.y < 0:
            self.add(field, f"must not start at negative coordinates, got ({r.x}, {r.y})")
        if r.width <= 0 or r.height <= 0:
            self.add(field, f"must have a positive width and height, got {r.width}x{r.height}")

    def file_path(self, msg: Message, field: str) -> None:
        value: str = getattr(msg, field)
        if not 1 <= len(value) <= bounds.MAX_FILE_PATH_CHARS:
            self.add(field, f"must have between 1 and {bounds.MAX_FILE_PATH_CHARS} characters, "
                            f"got {len(value)}")
        elif "\x00" in value:
            self.add(field, "must not contain a NUL character")


def _move_mouse(c: _Checker, r: computer_pb2.MoveMouseRequest) -> None:
    c.optional_point(r, "coordinates", required=True)


def _trace_mouse(c: _Checker, r: computer_pb2.TraceMouseRequest) -> None:
    c.path_points(r, "path")
    c.keys(r, "hold_keys", required=False)


def _click_mouse(c: _Checker, r: computer_pb2.ClickMouseRequest) -> None:
    c.optional_point(r, "coordinates")
    c.enum(r, "button", required=False)
    c.keys(r, "hold_keys", required=False)
    c.int_range(r, "click_count", bounds.MIN_CLICK_COUNT, bounds.MAX_CLICK_COUNT, zero_ok=True)


def _press_mouse(c: _Checker, r: computer_pb2.PressMouseRequest) -> None:
    c.optional_point(r, "coordinates")
    c.enum(r, "button", required=False)
    c.enum(r, "press", required=True)


def _drag_mouse(c: _Checker, r: computer_pb2.DragMouseRequest) -> None:
    c.path_points(r, "path")
    c.enum(r, "button", required=False)
    c.keys(r, "hold_keys", required=False)


def _scroll(c: _Checker, r: computer_pb2.ScrollRequest) -> None:
    c.optional_point(r, "coordinates")
    c.enum(r, "direction", required=True)
    c.int_range(r, "scroll_count", bounds.MIN_SCROLL_COUNT, bounds.MAX_SCROLL_COUNT, zero_ok=True)
    c.keys(r, "hold_keys", required=False)


def _type_keys(c: _Checker, r: computer_pb2.TypeKeysRequest) -> None:
    c.keys(r, "keys", required=True)
    c.duration(r, "delay", bounds.MAX_DELAY_SECONDS)


def _press_keys(c: _Checker, r: computer_pb2.PressKeysRequest) -> None:
    c.keys(r, "keys", required=True)
    c.enum(r, "press", required=True)


def _type_text(c: _Checker, r: computer_pb2.TypeTextRequest) -> None:
    c.text_length(r, "text", 1, bounds.MAX_TYPE_TEXT_CHARS)
    c.duration(r, "delay", bounds.MAX_DELAY_SECONDS)


def _paste_text(c: _Checker, r: computer_pb2.PasteTextRequest) -> None:
    c.text_length(r, "text", 1, bounds.MAX_PASTE_TEXT_CHARS)


def _wait(c: _Checker, r: computer_pb2.WaitRequest) -> None:
    c.duration(r, "duration", bounds.MAX_WAIT_SECONDS)


def _screenshot(c: _Checker, r: computer_pb2.ScreenshotRequest) -> None:
    c.enum(r, "format", required=False)
    c.int_range(r, "quality", bounds.MIN_JPEG_QUALITY, bounds.MAX_JPEG_QUALITY, zero_ok=True)
    c.region(r, "region")
    if not (r.scale == 0 or 0 < r.scale <= 1):  # also rejects NaN
        c.add("scale", f"must be in (0, 1] (0 means 1), got {r.scale:g}")


def _nothing(c: _Checker, r: Message) -> None:
    return


def _application(c: _Checker, r: computer_pb2.ApplicationRequest) -> None:
    # Which names exist is the computer service's configuration; only emptiness is checkable.
    if not r.application:
        c.add("application", "is required: the name of an application (e.g. firefox, terminal)")
    elif len(r.application) > 100:
        c.add("application", f"must have at most 100 characters, got {len(r.application)}")


def _write_file(c: _Checker, r: computer_pb2.WriteFileRequest) -> None:
    c.file_path(r, "path")
    if len(r.data) > bounds.MAX_FILE_BYTES:
        c.add("data", f"must be at most {bounds.MAX_FILE_BYTES} bytes (50 MB), got {len(r.data)}")


def _read_file(c: _Checker, r: computer_pb2.ReadFileRequest) -> None:
    c.file_path(r, "path")


def _match_options(c: _Checker, r: Message) -> None:
    if not r.HasField("options"):
        return
    o = r.options
    sub = _Checker(c.path("options"))
    sub.enum(o, "mode", required=False)
    if not 0 <= o.min_similarity <= 1:  # also rejects NaN
        sub.add("min_similarity", f"must be between 0 and 1, got {o.min_similarity:g}")
    sub.int_range(o, "max_results", 1, bounds.MAX_MATCH_RESULTS, zero_ok=True)
    c.violations.extend(sub.violations)


def _find_text(c: _Checker, r: action_pb2.FindTextAction) -> None:
    c.text_length(r, "text", bounds.MIN_FIND_TEXT_CHARS, bounds.MAX_FIND_TEXT_CHARS)
    _match_options(c, r)
    c.region(r, "region")


def _click_text(c: _Checker, r: action_pb2.ClickTextAction) -> None:
    _find_text(c, r)  # type: ignore[arg-type]  # same text/options/region fields
    c.enum(r, "button", required=False)
    c.int_range(r, "click_count", bounds.MIN_CLICK_COUNT, bounds.MAX_CLICK_COUNT, zero_ok=True)


_VALIDATORS: dict[str, Callable[[_Checker, Any], None]] = {
    "move_mouse": _move_mouse,
    "trace_mouse": _trace_mouse,
    "click_mouse": _click_mouse,
    "press_mouse": _press_mouse,
    "drag_mouse": _drag_mouse,
    "scroll": _scroll,
    "type_keys": _type_keys,
    "press_keys": _press_keys,
    "type_text": _type_text,
    "paste_text": _paste_text,
    "wait": _wait,
    "screenshot": _screenshot,
    "cursor_position": _nothing,
    "application": _application,
    "write_file": _write_file,
    "read_file": _read_file,
    "find_text": _find_text,
    "click_text": _click_text,
}


def validate_request(name: str, request: Message, prefix: str = "") -> list[FieldViolation]:
    """Violations of one action's request message (`name` is the Bytebot action name)."""
    checker = _Checker(prefix)
    _VALIDATORS[name](checker, request)
    return checker.violations


def action_kind(action: action_pb2.Action) -> str | None:
    """The Bytebot action name of an Action (its oneof field), or None when none is set."""
    return action.WhichOneof("action")


def validate_action(action: action_pb2.Action, prefix: str = "") -> list[FieldViolation]:
    """Violations of a task step; field paths start with the action name (`click_mouse.…`)."""
    checker = _Checker(prefix)
    if len(action.name) > bounds.MAX_STEP_NAME_CHARS:
        checker.add("name", f"must have at most {bounds.MAX_STEP_NAME_CHARS} characters, "
                            f"got {len(action.name)}")
    kind = action_kind(action)
    if kind is None:
        checker.add("action", "exactly one action must be set (e.g. click_mouse, type_text)")
        return checker.violations
    return checker.violations + validate_request(kind, getattr(action, kind), checker.path(kind))


def _inside(c: _Checker, field: str, x: int, y: int, width: int, height: int) -> None:
    if x >= 0 and y >= 0 and (x >= width or y >= height):  # negatives are reported already
        c.add(field, f"({x}, {y}) is outside the {width}x{height} screen")


def validate_on_screen(
    name: str, request: Message, width: int, height: int, prefix: str = ""
) -> list[FieldViolation]:
    """Violations that depend on the screen size: points and regions outside the screen."""
    c = _Checker(prefix)
    fields = request.DESCRIPTOR.fields_by_name
    if "coordinates" in fields and request.HasField("coordinates"):
        _inside(c, "coordinates", request.coordinates.x, request.coordinates.y, width, height)
    if "path" in fields:
        for i, p in enumerate(request.path[: bounds.MAX_PATH_POINTS]):
            _inside(c, f"path[{i}]", p.x, p.y, width, height)
    if "region" in fields and request.HasField("region"):
        r = request.region
        if r.x >= 0 and r.y >= 0 and r.width > 0 and r.height > 0 and (
            r.x + r.width > width or r.y + r.height > height
        ):
            c.add("region", f"{r.width}x{r.height} at ({r.x}, {r.y}) does not fit the "
                            f"{width}x{height} screen")
    return c.violations
