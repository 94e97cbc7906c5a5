import datetime

from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ServingStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SERVING_STATUS_UNSPECIFIED: _ClassVar[ServingStatus]
    SERVING_STATUS_SERVING: _ClassVar[ServingStatus]
    SERVING_STATUS_NOT_SERVING: _ClassVar[ServingStatus]
    SERVING_STATUS_UNREACHABLE: _ClassVar[ServingStatus]
    SERVING_STATUS_UNKNOWN_SERVICE: _ClassVar[ServingStatus]

class FleetStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FLEET_STATUS_UNSPECIFIED: _ClassVar[FleetStatus]
    FLEET_STATUS_HEALTHY: _ClassVar[FleetStatus]
    FLEET_STATUS_DEGRADED: _ClassVar[FleetStatus]
    FLEET_STATUS_UNHEALTHY: _ClassVar[FleetStatus]

class SloState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SLO_STATE_UNSPECIFIED: _ClassVar[SloState]
    SLO_STATE_OK: _ClassVar[SloState]
    SLO_STATE_WARNING: _ClassVar[SloState]
    SLO_STATE_BREACHED: _ClassVar[SloState]
    SLO_STATE_NO_DATA: _ClassVar[SloState]

class EventSeverity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_SEVERITY_UNSPECIFIED: _ClassVar[EventSeverity]
    EVENT_SEVERITY_DEBUG: _ClassVar[EventSeverity]
    EVENT_SEVERITY_INFO: _ClassVar[EventSeverity]
    EVENT_SEVERITY_WARNING: _ClassVar[EventSeverity]
    EVENT_SEVERITY_ERROR: _ClassVar[EventSeverity]
SERVING_STATUS_UNSPECIFIED: ServingStatus
SERVING_STATUS_SERVING: ServingStatus
SERVING_STATUS_NOT_SERVING: ServingStatus
SERVING_STATUS_UNREACHABLE: ServingStatus
SERVING_STATUS_UNKNOWN_SERVICE: ServingStatus
FLEET_STATUS_UNSPECIFIED: FleetStatus
FLEET_STATUS_HEALTHY: FleetStatus
FLEET_STATUS_DEGRADED: FleetStatus
FLEET_STATUS_UNHEALTHY: FleetStatus
SLO_STATE_UNSPECIFIED: SloState
SLO_STATE_OK: SloState
SLO_STATE_WARNING: SloState
SLO_STATE_BREACHED: SloState
SLO_STATE_NO_DATA: SloState
EVENT_SEVERITY_UNSPECIFIED: EventSeverity
EVENT_SEVERITY_DEBUG: EventSeverity
EVENT_SEVERITY_INFO: EventSeverity
EVENT_SEVERITY_WARNING: EventSeverity
EVENT_SEVERITY_ERROR: EventSeverity

class ProbeResult(_message.Message):
    __slots__ = ("probe", "status", "response_time", "error")
    PROBE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    probe: str
    status: ServingStatus
    response_time: _duration_pb2.Duration
    error: str
    def __init__(self, probe: _Optional[str] = ..., status: _Optional[_Union[ServingStatus, str]] = ..., response_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., error: _Optional[str] = ...) -> None: ...

class ServiceHealth(_message.Message):
    __slots__ = ("name", "target", "status", "probes", "checked_at")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    PROBES_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    name: str
    target: str
    status: ServingStatus
    probes: _containers.RepeatedCompositeFieldContainer[ProbeResult]
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., target: _Optional[str] = ..., status: _Optional[_Union[ServingStatus, str]] = ..., probes: _Optional[_Iterable[_Union[ProbeResult, _Mapping]]] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class GetSystemHealthRequest(_message.Message):
    __slots__ = ("services",)
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, services: _Optional[_Iterable[str]] = ...) -> None: ...

class GetSystemHealthResponse(_message.Message):
    __slots__ = ("status", "services", "checked_at")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    status: FleetStatus
    services: _containers.RepeatedCompositeFieldContainer[ServiceHealth]
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[FleetStatus, str]] = ..., services: _Optional[_Iterable[_Union[ServiceHealth, _Mapping]]] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchSystemHealthRequest(_message.Message):
    __slots__ = ("services", "interval")
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    INTERVAL_FIELD_NUMBER: _ClassVar[int]
    services: _containers.RepeatedScalarFieldContainer[str]
    interval: _duration_pb2.Duration
    def __init__(self, services: _Optional[_Iterable[str]] = ..., interval: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WatchSystemHealthResponse(_message.Message):
    __slots__ = ("status", "services", "checked_at")
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SERVICES_FIELD_NUMBER: _ClassVar[int]
    CHECKED_AT_FIELD_NUMBER: _ClassVar[int]
    status: FleetStatus
    services: _containers.RepeatedCompositeFieldContainer[ServiceHealth]
    checked_at: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[FleetStatus, str]] = ..., services: _Optional[_Iterable[_Union[ServiceHealth, _Mapping]]] = ..., checked_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SloIndicator(_message.Message):
    __slots__ = ("name", "description", "unit", "target", "alert_threshold", "current", "has_value", "state", "query")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    ALERT_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    HAS_VALUE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    unit: str
    target: float
    alert_threshold: float
    current: float
    has_value: bool
    state: SloState
    query: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., unit: _Optional[str] = ..., target: _Optional[float] = ..., alert_threshold: _Optional[float] = ..., current: _Optional[float] = ..., has_value: _Optional[bool] = ..., state: _Optional[_Union[SloState, str]] = ..., query: _Optional[str] = ...) -> None: ...

class GetSloReportRequest(_message.Message):
    __slots__ = ("window",)
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    window: _duration_pb2.Duration
    def __init__(self, window: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetSloReportResponse(_message.Message):
    __slots__ = ("indicators", "source", "generated_at")
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    GENERATED_AT_FIELD_NUMBER: _ClassVar[int]
    indicators: _containers.RepeatedCompositeFieldContainer[SloIndicator]
    source: str
    generated_at: _timestamp_pb2.Timestamp
    def __init__(self, indicators: _Optional[_Iterable[_Union[SloIndicator, _Mapping]]] = ..., source: _Optional[str] = ..., generated_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ClientEvent(_message.Message):
    __slots__ = ("name", "severity", "source", "time", "value", "attributes", "correlation_id")
    class AttributesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTES_FIELD_NUMBER: _ClassVar[int]
    CORRELATION_ID_FIELD_NUMBER: _ClassVar[int]
    name: str
    severity: EventSeverity
    source: str
    time: _timestamp_pb2.Timestamp
    value: float
    attributes: _containers.ScalarMap[str, str]
    correlation_id: str
    def __init__(self, name: _Optional[str] = ..., severity: _Optional[_Union[EventSeverity, str]] = ..., source: _Optional[str] = ..., time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ..., attributes: _Optional[_Mapping[str, str]] = ..., correlation_id: _Optional[str] = ...) -> None: ...

class RecordEventsRequest(_message.Message):
    __slots__ = ("events",)
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[ClientEvent]
    def __init__(self, events: _Optional[_Iterable[_Union[ClientEvent, _Mapping]]] = ...) -> None: ...

class EventRejection(_message.Message):
    __slots__ = ("index", "field", "reason")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    index: int
    field: str
    reason: str
    def __init__(self, index: _Optional[int] = ..., field: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class RecordEventsResponse(_message.Message):
    __slots__ = ("accepted", "rejected", "rejections")
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    REJECTIONS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    rejected: int
    rejections: _containers.RepeatedCompositeFieldContainer[EventRejection]
    def __init__(self, accepted: _Optional[int] = ..., rejected: _Optional[int] = ..., rejections: _Optional[_Iterable[_Union[EventRejection, _Mapping]]] = ...) -> None: ...
