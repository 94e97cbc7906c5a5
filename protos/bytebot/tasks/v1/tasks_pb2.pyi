import datetime

from bytebot.common.v1 import common_pb2 as _common_pb2
from bytebot.computer.v1 import action_pb2 as _action_pb2
from bytebot.inference.v1 import inference_pb2 as _inference_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_STATUS_UNSPECIFIED: _ClassVar[TaskStatus]
    TASK_STATUS_PENDING: _ClassVar[TaskStatus]
    TASK_STATUS_RUNNING: _ClassVar[TaskStatus]
    TASK_STATUS_NEEDS_HELP: _ClassVar[TaskStatus]
    TASK_STATUS_NEEDS_REVIEW: _ClassVar[TaskStatus]
    TASK_STATUS_COMPLETED: _ClassVar[TaskStatus]
    TASK_STATUS_CANCELLED: _ClassVar[TaskStatus]
    TASK_STATUS_FAILED: _ClassVar[TaskStatus]

class TaskPriority(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_PRIORITY_UNSPECIFIED: _ClassVar[TaskPriority]
    TASK_PRIORITY_LOW: _ClassVar[TaskPriority]
    TASK_PRIORITY_MEDIUM: _ClassVar[TaskPriority]
    TASK_PRIORITY_HIGH: _ClassVar[TaskPriority]
    TASK_PRIORITY_URGENT: _ClassVar[TaskPriority]

class TaskType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_TYPE_UNSPECIFIED: _ClassVar[TaskType]
    TASK_TYPE_IMMEDIATE: _ClassVar[TaskType]
    TASK_TYPE_SCHEDULED: _ClassVar[TaskType]

class TaskControl(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_CONTROL_UNSPECIFIED: _ClassVar[TaskControl]
    TASK_CONTROL_USER: _ClassVar[TaskControl]
    TASK_CONTROL_ASSISTANT: _ClassVar[TaskControl]

class StepStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STEP_STATUS_UNSPECIFIED: _ClassVar[StepStatus]
    STEP_STATUS_PENDING: _ClassVar[StepStatus]
    STEP_STATUS_RUNNING: _ClassVar[StepStatus]
    STEP_STATUS_SUCCEEDED: _ClassVar[StepStatus]
    STEP_STATUS_FAILED: _ClassVar[StepStatus]
    STEP_STATUS_SKIPPED: _ClassVar[StepStatus]
    STEP_STATUS_CANCELLED: _ClassVar[StepStatus]

class TaskEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TASK_EVENT_TYPE_UNSPECIFIED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_SNAPSHOT: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_CREATED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_STARTED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_STEP_STARTED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_STEP_FINISHED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_RETRYING: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_CANCEL_REQUESTED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_COMPLETED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_FAILED: _ClassVar[TaskEventType]
    TASK_EVENT_TYPE_CANCELLED: _ClassVar[TaskEventType]
TASK_STATUS_UNSPECIFIED: TaskStatus
TASK_STATUS_PENDING: TaskStatus
TASK_STATUS_RUNNING: TaskStatus
TASK_STATUS_NEEDS_HELP: TaskStatus
TASK_STATUS_NEEDS_REVIEW: TaskStatus
TASK_STATUS_COMPLETED: TaskStatus
TASK_STATUS_CANCELLED: TaskStatus
TASK_STATUS_FAILED: TaskStatus
TASK_PRIORITY_UNSPECIFIED: TaskPriority
TASK_PRIORITY_LOW: TaskPriority
TASK_PRIORITY_MEDIUM: TaskPriority
TASK_PRIORITY_HIGH: TaskPriority
TASK_PRIORITY_URGENT: TaskPriority
TASK_TYPE_UNSPECIFIED: TaskType
TASK_TYPE_IMMEDIATE: TaskType
TASK_TYPE_SCHEDULED: TaskType
TASK_CONTROL_UNSPECIFIED: TaskControl
TASK_CONTROL_USER: TaskControl
TASK_CONTROL_ASSISTANT: TaskControl
STEP_STATUS_UNSPECIFIED: StepStatus
STEP_STATUS_PENDING: StepStatus
STEP_STATUS_RUNNING: StepStatus
STEP_STATUS_SUCCEEDED: StepStatus
STEP_STATUS_FAILED: StepStatus
STEP_STATUS_SKIPPED: StepStatus
STEP_STATUS_CANCELLED: StepStatus
TASK_EVENT_TYPE_UNSPECIFIED: TaskEventType
TASK_EVENT_TYPE_SNAPSHOT: TaskEventType
TASK_EVENT_TYPE_CREATED: TaskEventType
TASK_EVENT_TYPE_STARTED: TaskEventType
TASK_EVENT_TYPE_STEP_STARTED: TaskEventType
TASK_EVENT_TYPE_STEP_FINISHED: TaskEventType
TASK_EVENT_TYPE_RETRYING: TaskEventType
TASK_EVENT_TYPE_CANCEL_REQUESTED: TaskEventType
TASK_EVENT_TYPE_COMPLETED: TaskEventType
TASK_EVENT_TYPE_FAILED: TaskEventType
TASK_EVENT_TYPE_CANCELLED: TaskEventType

class ScreenshotDigest(_message.Message):
    __slots__ = ("size_bytes", "sha256", "format", "width", "height")
    SIZE_BYTES_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    size_bytes: int
    sha256: str
    format: _common_pb2.ImageFormat
    width: int
    height: int
    def __init__(self, size_bytes: _Optional[int] = ..., sha256: _Optional[str] = ..., format: _Optional[_Union[_common_pb2.ImageFormat, str]] = ..., width: _Optional[int] = ..., height: _Optional[int] = ...) -> None: ...

class StepOutput(_message.Message):
    __slots__ = ("point", "screenshot", "bytes", "text", "matches")
    POINT_FIELD_NUMBER: _ClassVar[int]
    SCREENSHOT_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    point: _common_pb2.Point
    screenshot: ScreenshotDigest
    bytes: int
    text: str
    matches: _containers.RepeatedCompositeFieldContainer[_inference_pb2.TextMatch]
    def __init__(self, point: _Optional[_Union[_common_pb2.Point, _Mapping]] = ..., screenshot: _Optional[_Union[ScreenshotDigest, _Mapping]] = ..., bytes: _Optional[int] = ..., text: _Optional[str] = ..., matches: _Optional[_Iterable[_Union[_inference_pb2.TextMatch, _Mapping]]] = ...) -> None: ...

class StepResult(_message.Message):
    __slots__ = ("index", "status", "started_at", "finished_at", "attempts", "error", "output")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    FINISHED_AT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    index: int
    status: StepStatus
    started_at: _timestamp_pb2.Timestamp
    finished_at: _timestamp_pb2.Timestamp
    attempts: int
    error: str
    output: StepOutput
    def __init__(self, index: _Optional[int] = ..., status: _Optional[_Union[StepStatus, str]] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., finished_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., attempts: _Optional[int] = ..., error: _Optional[str] = ..., output: _Optional[_Union[StepOutput, _Mapping]] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "description", "type", "status", "priority", "control", "created_by", "created_at", "updated_at", "scheduled_for", "queued_at", "executed_at", "completed_at", "error", "result", "correlation_id", "attempts", "max_attempts", "steps", "step_results", "cancel_requested")
    ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CONTROL_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FOR_FIELD_NUMBER: _ClassVar[int]
    QUEUED_AT_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    STEP_RESULTS_FIELD_NUMBER: _ClassVar[int]
    CANCEL_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    id: str
    description: str
    type: TaskType
    status: TaskStatus
    priority: TaskPriority
    control: TaskControl
    created_by: str
    created_at: _timestamp_pb2.Timestamp
    updated_at: _timestamp_pb2.Timestamp
    scheduled_for: _timestamp_pb2.Timestamp
    queued_at: _timestamp_pb2.Timestamp
    executed_at: _timestamp_pb2.Timestamp
    completed_at: _timestamp_pb2.Timestamp
    error: str
    result: str
    correlation_id: str
    attempts: int
    max_attempts: int
    steps: _containers.RepeatedCompositeFieldContainer[_action_pb2.Action]
    step_results: _containers.RepeatedCompositeFieldContainer[StepResult]
    cancel_requested: bool
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., type: _Optional[_Union[TaskType, str]] = ..., status: _Optional[_Union[TaskStatus, str]] = ..., priority: _Optional[_Union[TaskPriority, str]] = ..., control: _Optional[_Union[TaskControl, str]] = ..., created_by: _Optional[str] = ..., created_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., updated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., scheduled_for: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., queued_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., executed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., completed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error: _Optional[str] = ..., result: _Optional[str] = ..., correlation_id: _Optional[str] = ..., attempts: _Optional[int] = ..., max_attempts: _Optional[int] = ..., steps: _Optional[_Iterable[_Union[_action_pb2.Action, _Mapping]]] = ..., step_results: _Optional[_Iterable[_Union[StepResult, _Mapping]]] = ..., cancel_requested: _Optional[bool] = ...) -> None: ...

class CreateTaskRequest(_message.Message):
    __slots__ = ("description", "type", "priority", "scheduled_for", "steps", "created_by", "max_attempts", "request_id")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    SCHEDULED_FOR_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    description: str
    type: TaskType
    priority: TaskPriority
    scheduled_for: _timestamp_pb2.Timestamp
    steps: _containers.RepeatedCompositeFieldContainer[_action_pb2.Action]
    created_by: str
    max_attempts: int
    request_id: str
    def __init__(self, description: _Optional[str] = ..., type: _Optional[_Union[TaskType, str]] = ..., priority: _Optional[_Union[TaskPriority, str]] = ..., scheduled_for: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[_action_pb2.Action, _Mapping]]] = ..., created_by: _Optional[str] = ..., max_attempts: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class GetTaskRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class ListTasksRequest(_message.Message):
    __slots__ = ("status", "priority", "created_by", "page_size", "page_token")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    CREATED_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    status: TaskStatus
    priority: TaskPriority
    created_by: str
    page_size: int
    page_token: str
    def __init__(self, status: _Optional[_Union[TaskStatus, str]] = ..., priority: _Optional[_Union[TaskPriority, str]] = ..., created_by: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListTasksResponse(_message.Message):
    __slots__ = ("tasks", "next_page_token")
    TASKS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    next_page_token: str
    def __init__(self, tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class CancelTaskRequest(_message.Message):
    __slots__ = ("id", "reason")
    ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    id: str
    reason: str
    def __init__(self, id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CancelTaskResponse(_message.Message):
    __slots__ = ("task",)
    TASK_FIELD_NUMBER: _ClassVar[int]
    task: Task
    def __init__(self, task: _Optional[_Union[Task, _Mapping]] = ...) -> None: ...

class WatchTaskRequest(_message.Message):
    __slots__ = ("id", "after_event_sequence")
    ID_FIELD_NUMBER: _ClassVar[int]
    AFTER_EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    id: str
    after_event_sequence: int
    def __init__(self, id: _Optional[str] = ..., after_event_sequence: _Optional[int] = ...) -> None: ...

class WatchTaskResponse(_message.Message):
    __slots__ = ("sequence", "type", "time", "task", "step_index", "message", "event_sequence")
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    STEP_INDEX_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    EVENT_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    sequence: int
    type: TaskEventType
    time: _timestamp_pb2.Timestamp
    task: Task
    step_index: int
    message: str
    event_sequence: int
    def __init__(self, sequence: _Optional[int] = ..., type: _Optional[_Union[TaskEventType, str]] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., task: _Optional[_Union[Task, _Mapping]] = ..., step_index: _Optional[int] = ..., message: _Optional[str] = ..., event_sequence: _Optional[int] = ...) -> None: ...
