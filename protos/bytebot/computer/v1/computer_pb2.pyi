import datetime

from bytebot.common.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MouseButton(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MOUSE_BUTTON_UNSPECIFIED: _ClassVar[MouseButton]
    MOUSE_BUTTON_LEFT: _ClassVar[MouseButton]
    MOUSE_BUTTON_RIGHT: _ClassVar[MouseButton]
    MOUSE_BUTTON_MIDDLE: _ClassVar[MouseButton]

class Press(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PRESS_UNSPECIFIED: _ClassVar[Press]
    PRESS_UP: _ClassVar[Press]
    PRESS_DOWN: _ClassVar[Press]

class ScrollDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SCROLL_DIRECTION_UNSPECIFIED: _ClassVar[ScrollDirection]
    SCROLL_DIRECTION_UP: _ClassVar[ScrollDirection]
    SCROLL_DIRECTION_DOWN: _ClassVar[ScrollDirection]
    SCROLL_DIRECTION_LEFT: _ClassVar[ScrollDirection]
    SCROLL_DIRECTION_RIGHT: _ClassVar[ScrollDirection]
MOUSE_BUTTON_UNSPECIFIED: MouseButton
MOUSE_BUTTON_LEFT: MouseButton
MOUSE_BUTTON_RIGHT: MouseButton
MOUSE_BUTTON_MIDDLE: MouseButton
PRESS_UNSPECIFIED: Press
PRESS_UP: Press
PRESS_DOWN: Press
SCROLL_DIRECTION_UNSPECIFIED: ScrollDirection
SCROLL_DIRECTION_UP: ScrollDirection
SCROLL_DIRECTION_DOWN: ScrollDirection
SCROLL_DIRECTION_LEFT: ScrollDirection
SCROLL_DIRECTION_RIGHT: ScrollDirection

class MoveMouseRequest(_message.Message):
    __slots__ = ("coordinates",)
    COORDINATES_FIELD_NUMBER: _ClassVar[int]
    coordinates: _common_pb2.Point
    def __init__(self, coordinates: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class MoveMouseResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class TraceMouseRequest(_message.Message):
    __slots__ = ("path", "hold_keys")
    PATH_FIELD_NUMBER: _ClassVar[int]
    HOLD_KEYS_FIELD_NUMBER: _ClassVar[int]
    path: _containers.RepeatedCompositeFieldContainer[_common_pb2.Point]
    hold_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[_Iterable[_Union[_common_pb2.Point, _Mapping]]] = ..., hold_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class TraceMouseResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class ClickMouseRequest(_message.Message):
    __slots__ = ("coordinates", "button", "hold_keys", "click_count")
    COORDINATES_FIELD_NUMBER: _ClassVar[int]
    BUTTON_FIELD_NUMBER: _ClassVar[int]
    HOLD_KEYS_FIELD_NUMBER: _ClassVar[int]
    CLICK_COUNT_FIELD_NUMBER: _ClassVar[int]
    coordinates: _common_pb2.Point
    button: MouseButton
    hold_keys: _containers.RepeatedScalarFieldContainer[str]
    click_count: int
    def __init__(self, coordinates: _Optional[_Union[_common_pb2.Point, _Mapping]] = ..., button: _Optional[_Union[MouseButton, str]] = ..., hold_keys: _Optional[_Iterable[str]] = ..., click_count: _Optional[int] = ...) -> None: ...

class ClickMouseResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class PressMouseRequest(_message.Message):
    __slots__ = ("coordinates", "button", "press")
    COORDINATES_FIELD_NUMBER: _ClassVar[int]
    BUTTON_FIELD_NUMBER: _ClassVar[int]
    PRESS_FIELD_NUMBER: _ClassVar[int]
    coordinates: _common_pb2.Point
    button: MouseButton
    press: Press
    def __init__(self, coordinates: _Optional[_Union[_common_pb2.Point, _Mapping]] = ..., button: _Optional[_Union[MouseButton, str]] = ..., press: _Optional[_Union[Press, str]] = ...) -> None: ...

class PressMouseResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class DragMouseRequest(_message.Message):
    __slots__ = ("path", "button", "hold_keys")
    PATH_FIELD_NUMBER: _ClassVar[int]
    BUTTON_FIELD_NUMBER: _ClassVar[int]
    HOLD_KEYS_FIELD_NUMBER: _ClassVar[int]
    path: _containers.RepeatedCompositeFieldContainer[_common_pb2.Point]
    button: MouseButton
    hold_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, path: _Optional[_Iterable[_Union[_common_pb2.Point, _Mapping]]] = ..., button: _Optional[_Union[MouseButton, str]] = ..., hold_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class DragMouseResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class ScrollRequest(_message.Message):
    __slots__ = ("coordinates", "direction", "scroll_count", "hold_keys")
    COORDINATES_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    SCROLL_COUNT_FIELD_NUMBER: _ClassVar[int]
    HOLD_KEYS_FIELD_NUMBER: _ClassVar[int]
    coordinates: _common_pb2.Point
    direction: ScrollDirection
    scroll_count: int
    hold_keys: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, coordinates: _Optional[_Union[_common_pb2.Point, _Mapping]] = ..., direction: _Optional[_Union[ScrollDirection, str]] = ..., scroll_count: _Optional[int] = ..., hold_keys: _Optional[_Iterable[str]] = ...) -> None: ...

class ScrollResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class TypeKeysRequest(_message.Message):
    __slots__ = ("keys", "delay")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    delay: _duration_pb2.Duration
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TypeKeysResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class PressKeysRequest(_message.Message):
    __slots__ = ("keys", "press")
    KEYS_FIELD_NUMBER: _ClassVar[int]
    PRESS_FIELD_NUMBER: _ClassVar[int]
    keys: _containers.RepeatedScalarFieldContainer[str]
    press: Press
    def __init__(self, keys: _Optional[_Iterable[str]] = ..., press: _Optional[_Union[Press, str]] = ...) -> None: ...

class PressKeysResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class TypeTextRequest(_message.Message):
    __slots__ = ("text", "delay", "sensitive")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    text: str
    delay: _duration_pb2.Duration
    sensitive: bool
    def __init__(self, text: _Optional[str] = ..., delay: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., sensitive: _Optional[bool] = ...) -> None: ...

class TypeTextResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class PasteTextRequest(_message.Message):
    __slots__ = ("text", "sensitive")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    SENSITIVE_FIELD_NUMBER: _ClassVar[int]
    text: str
    sensitive: bool
    def __init__(self, text: _Optional[str] = ..., sensitive: _Optional[bool] = ...) -> None: ...

class PasteTextResponse(_message.Message):
    __slots__ = ("cursor",)
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    cursor: _common_pb2.Point
    def __init__(self, cursor: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class WaitRequest(_message.Message):
    __slots__ = ("duration",)
    DURATION_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    def __init__(self, duration: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WaitResponse(_message.Message):
    __slots__ = ("waited",)
    WAITED_FIELD_NUMBER: _ClassVar[int]
    waited: _duration_pb2.Duration
    def __init__(self, waited: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ScreenshotRequest(_message.Message):
    __slots__ = ("format", "quality", "region", "scale", "show_cursor")
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    SCALE_FIELD_NUMBER: _ClassVar[int]
    SHOW_CURSOR_FIELD_NUMBER: _ClassVar[int]
    format: _common_pb2.ImageFormat
    quality: int
    region: _common_pb2.Rect
    scale: float
    show_cursor: bool
    def __init__(self, format: _Optional[_Union[_common_pb2.ImageFormat, str]] = ..., quality: _Optional[int] = ..., region: _Optional[_Union[_common_pb2.Rect, _Mapping]] = ..., scale: _Optional[float] = ..., show_cursor: _Optional[bool] = ...) -> None: ...

class ScreenshotResponse(_message.Message):
    __slots__ = ("image", "size_bytes")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.Image
    size_bytes: int
    def __init__(self, image: _Optional[_Union[_common_pb2.Image, _Mapping]] = ..., size_bytes: _Optional[int] = ...) -> None: ...

class CursorPositionRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class CursorPositionResponse(_message.Message):
    __slots__ = ("position",)
    POSITION_FIELD_NUMBER: _ClassVar[int]
    position: _common_pb2.Point
    def __init__(self, position: _Optional[_Union[_common_pb2.Point, _Mapping]] = ...) -> None: ...

class ApplicationRequest(_message.Message):
    __slots__ = ("application",)
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    application: str
    def __init__(self, application: _Optional[str] = ...) -> None: ...

class ApplicationResponse(_message.Message):
    __slots__ = ("application", "launched")
    APPLICATION_FIELD_NUMBER: _ClassVar[int]
    LAUNCHED_FIELD_NUMBER: _ClassVar[int]
    application: str
    launched: bool
    def __init__(self, application: _Optional[str] = ..., launched: _Optional[bool] = ...) -> None: ...

class WriteFileRequest(_message.Message):
    __slots__ = ("path", "data")
    PATH_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    path: str
    data: bytes
    def __init__(self, path: _Optional[str] = ..., data: _Optional[bytes] = ...) -> None: ...

class WriteFileResponse(_message.Message):
    __slots__ = ("path", "size")
    PATH_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    path: str
    size: int
    def __init__(self, path: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class ReadFileRequest(_message.Message):
    __slots__ = ("path",)
    PATH_FIELD_NUMBER: _ClassVar[int]
    path: str
    def __init__(self, path: _Optional[str] = ...) -> None: ...

class ReadFileResponse(_message.Message):
    __slots__ = ("data", "name", "size", "media_type")
    DATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    name: str
    size: int
    media_type: str
    def __init__(self, data: _Optional[bytes] = ..., name: _Optional[str] = ..., size: _Optional[int] = ..., media_type: _Optional[str] = ...) -> None: ...
