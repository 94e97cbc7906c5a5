from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Behavior(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    BEHAVIOR_UNSPECIFIED: _ClassVar[Behavior]
    BEHAVIOR_OK: _ClassVar[Behavior]
    BEHAVIOR_ABORT: _ClassVar[Behavior]
    BEHAVIOR_RAISE: _ClassVar[Behavior]
    BEHAVIOR_SLEEP: _ClassVar[Behavior]
    BEHAVIOR_CONTEXT_ABORT: _ClassVar[Behavior]
    BEHAVIOR_CALL_NEXT: _ClassVar[Behavior]
BEHAVIOR_UNSPECIFIED: Behavior
BEHAVIOR_OK: Behavior
BEHAVIOR_ABORT: Behavior
BEHAVIOR_RAISE: Behavior
BEHAVIOR_SLEEP: Behavior
BEHAVIOR_CONTEXT_ABORT: Behavior
BEHAVIOR_CALL_NEXT: Behavior

class ConformanceRequest(_message.Message):
    __slots__ = ("behavior", "code", "message", "sleep_ms", "count", "next_target", "payload")
    BEHAVIOR_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SLEEP_MS_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    NEXT_TARGET_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    behavior: Behavior
    code: int
    message: str
    sleep_ms: int
    count: int
    next_target: str
    payload: str
    def __init__(self, behavior: _Optional[_Union[Behavior, str]] = ..., code: _Optional[int] = ..., message: _Optional[str] = ..., sleep_ms: _Optional[int] = ..., count: _Optional[int] = ..., next_target: _Optional[str] = ..., payload: _Optional[str] = ...) -> None: ...

class ConformanceResponse(_message.Message):
    __slots__ = ("payload", "correlation_id", "trace_id", "index", "next_correlation_id")
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    NEXT_CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    payload: str
    correlation_id: str
    trace_id: str
    index: int
    next_correlation_id: str
    def __init__(self, payload: _Optional[str] = ..., correlation_id: _Optional[str] = ..., trace_id: _Optional[str] = ..., index: _Optional[int] = ..., next_correlation_id: _Optional[str] = ...) -> None: ...
