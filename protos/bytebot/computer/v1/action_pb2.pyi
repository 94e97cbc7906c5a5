from bytebot.common.v1 import common_pb2 as _common_pb2
from bytebot.computer.v1 import computer_pb2 as _computer_pb2
from bytebot.inference.v1 import inference_pb2 as _inference_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(_message.Message):
    __slots__ = ("name", "move_mouse", "trace_mouse", "click_mouse", "press_mouse", "drag_mouse", "scroll", "type_keys", "press_keys", "type_text", "paste_text", "wait", "screenshot", "cursor_position", "application", "write_file", "read_file", "find_text", "click_text")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MOVE_MOUSE_FIELD_NUMBER: _ClassVar[int]
    TRACE_MOUSE_FIELD_NUMBER: _ClassVar[int]
    CLICK_MOUSE_FIELD_NUMBER: _ClassVar[int]
    PRESS_MOUSE_FIELD_NUMBER: _ClassVar[int]
    DRAG_MOUSE_FIELD_NUMBER: _ClassVar[int]
    SCROLL_FIELD_NUMBER: _ClassVar[int]
    TYPE_KEYS_FIELD_NUMBER: _ClassVar[int]
    PRESS_KEYS_FIELD_NUMBER: _ClassVar[int]
    TYPE_TEXT_FIELD_NUMBER: _ClassVar[int]
    PASTE_TEXT_FIELD_NUMBER: _ClassVar[int]
    WAIT_FIELD_NUMBER: _ClassVar[int]
    SCREENSHOT_FIELD_NUMBER: _ClassVar[int]
    CURSOR_POSITION_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    WRITE_FILE_FIELD_NUMBER: _ClassVar[int]
    READ_FILE_FIELD_NUMBER: _ClassVar[int]
    FIND_TEXT_FIELD_NUMBER: _ClassVar[int]
    CLICK_TEXT_FIELD_NUMBER: _ClassVar[int]
    name: str
    move_mouse: _computer_pb2.MoveMouseRequest
    trace_mouse: _computer_pb2.TraceMouseRequest
    click_mouse: _computer_pb2.ClickMouseRequest
    press_mouse: _computer_pb2.PressMouseRequest
    drag_mouse: _computer_pb2.DragMouseRequest
    scroll: _computer_pb2.ScrollRequest
    type_keys: _computer_pb2.TypeKeysRequest
    press_keys: _computer_pb2.PressKeysRequest
    type_text: _computer_pb2.TypeTextRequest
    paste_text: _computer_pb2.PasteTextRequest
    wait: _computer_pb2.WaitRequest
    screenshot: _computer_pb2.ScreenshotRequest
    cursor_position: _computer_pb2.CursorPositionRequest
    application: _computer_pb2.ApplicationRequest
    write_file: _computer_pb2.WriteFileRequest
    read_file: _computer_pb2.ReadFileRequest
    find_text: FindTextAction
    click_text: ClickTextAction
    def __init__(self, name: _Optional[str] = ..., move_mouse: _Optional[_Union[_computer_pb2.MoveMouseRequest, _Mapping]] = ..., trace_mouse: _Optional[_Union[_computer_pb2.TraceMouseRequest, _Mapping]] = ..., click_mouse: _Optional[_Union[_computer_pb2.ClickMouseRequest, _Mapping]] = ..., press_mouse: _Optional[_Union[_computer_pb2.PressMouseRequest, _Mapping]] = ..., drag_mouse: _Optional[_Union[_computer_pb2.DragMouseRequest, _Mapping]] = ..., scroll: _Optional[_Union[_computer_pb2.ScrollRequest, _Mapping]] = ..., type_keys: _Optional[_Union[_computer_pb2.TypeKeysRequest, _Mapping]] = ..., press_keys: _Optional[_Union[_computer_pb2.PressKeysRequest, _Mapping]] = ..., type_text: _Optional[_Union[_computer_pb2.TypeTextRequest, _Mapping]] = ..., paste_text: _Optional[_Union[_computer_pb2.PasteTextRequest, _Mapping]] = ..., wait: _Optional[_Union[_computer_pb2.WaitRequest, _Mapping]] = ..., screenshot: _Optional[_Union[_computer_pb2.ScreenshotRequest, _Mapping]] = ..., cursor_position: _Optional[_Union[_computer_pb2.CursorPositionRequest, _Mapping]] = ..., application: _Optional[_Union[_computer_pb2.ApplicationRequest, _Mapping]] = ..., write_file: _Optional[_Union[_computer_pb2.WriteFileRequest, _Mapping]] = ..., read_file: _Optional[_Union[_computer_pb2.ReadFileRequest, _Mapping]] = ..., find_text: _Optional[_Union[FindTextAction, _Mapping]] = ..., click_text: _Optional[_Union[ClickTextAction, _Mapping]] = ...) -> None: ...

class FindTextAction(_message.Message):
    __slots__ = ("text", "options", "region")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    text: str
    options: _inference_pb2.MatchOptions
    region: _common_pb2.Rect
    def __init__(self, text: _Optional[str] = ..., options: _Optional[_Union[_inference_pb2.MatchOptions, _Mapping]] = ..., region: _Optional[_Union[_common_pb2.Rect, _Mapping]] = ...) -> None: ...

class ClickTextAction(_message.Message):
    __slots__ = ("text", "options", "region", "button", "click_count")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    BUTTON_FIELD_NUMBER: _ClassVar[int]
    CLICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    text: str
    options: _inference_pb2.MatchOptions
    region: _common_pb2.Rect
    button: _computer_pb2.MouseButton
    click_count: int
    def __init__(self, text: _Optional[str] = ..., options: _Optional[_Union[_inference_pb2.MatchOptions, _Mapping]] = ..., region: _Optional[_Union[_common_pb2.Rect, _Mapping]] = ..., button: _Optional[_Union[_computer_pb2.MouseButton, str]] = ..., click_count: _Optional[int] = ...) -> None: ...
