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

class MatchMode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MATCH_MODE_UNSPECIFIED: _ClassVar[MatchMode]
    MATCH_MODE_EXACT: _ClassVar[MatchMode]
    MATCH_MODE_CASE_INSENSITIVE: _ClassVar[MatchMode]
    MATCH_MODE_CONTAINS: _ClassVar[MatchMode]
    MATCH_MODE_FUZZY: _ClassVar[MatchMode]
MATCH_MODE_UNSPECIFIED: MatchMode
MATCH_MODE_EXACT: MatchMode
MATCH_MODE_CASE_INSENSITIVE: MatchMode
MATCH_MODE_CONTAINS: MatchMode
MATCH_MODE_FUZZY: MatchMode

class MatchOptions(_message.Message):
    __slots__ = ("mode", "min_similarity", "whole_word", "max_results")
    MODE_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    WHOLE_WORD_FIELD_NUMBER: _ClassVar[int]
    MAX_RESULTS_FIELD_NUMBER: _ClassVar[int]
    mode: MatchMode
    min_similarity: float
    whole_word: bool
    max_results: int
    def __init__(self, mode: _Optional[_Union[MatchMode, str]] = ..., min_similarity: _Optional[float] = ..., whole_word: _Optional[bool] = ..., max_results: _Optional[int] = ...) -> None: ...

class TextRegion(_message.Message):
    __slots__ = ("text", "box", "confidence", "line")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    BOX_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    text: str
    box: _common_pb2.Rect
    confidence: float
    line: int
    def __init__(self, text: _Optional[str] = ..., box: _Optional[_Union[_common_pb2.Rect, _Mapping]] = ..., confidence: _Optional[float] = ..., line: _Optional[int] = ...) -> None: ...

class DetectTextRequest(_message.Message):
    __slots__ = ("image", "region", "min_confidence")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    MIN_CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.Image
    region: _common_pb2.Rect
    min_confidence: float
    def __init__(self, image: _Optional[_Union[_common_pb2.Image, _Mapping]] = ..., region: _Optional[_Union[_common_pb2.Rect, _Mapping]] = ..., min_confidence: _Optional[float] = ...) -> None: ...

class DetectTextResponse(_message.Message):
    __slots__ = ("regions", "model", "backend", "processing_time", "image_size")
    REGIONS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    regions: _containers.RepeatedCompositeFieldContainer[TextRegion]
    model: str
    backend: str
    processing_time: _duration_pb2.Duration
    image_size: _common_pb2.Size
    def __init__(self, regions: _Optional[_Iterable[_Union[TextRegion, _Mapping]]] = ..., model: _Optional[str] = ..., backend: _Optional[str] = ..., processing_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., image_size: _Optional[_Union[_common_pb2.Size, _Mapping]] = ...) -> None: ...

class FindTextRequest(_message.Message):
    __slots__ = ("image", "query", "options", "region")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    image: _common_pb2.Image
    query: str
    options: MatchOptions
    region: _common_pb2.Rect
    def __init__(self, image: _Optional[_Union[_common_pb2.Image, _Mapping]] = ..., query: _Optional[str] = ..., options: _Optional[_Union[MatchOptions, _Mapping]] = ..., region: _Optional[_Union[_common_pb2.Rect, _Mapping]] = ...) -> None: ...

class TextMatch(_message.Message):
    __slots__ = ("region", "center", "score")
    REGION_FIELD_NUMBER: _ClassVar[int]
    CENTER_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    region: TextRegion
    center: _common_pb2.Point
    score: float
    def __init__(self, region: _Optional[_Union[TextRegion, _Mapping]] = ..., center: _Optional[_Union[_common_pb2.Point, _Mapping]] = ..., score: _Optional[float] = ...) -> None: ...

class FindTextResponse(_message.Message):
    __slots__ = ("matches", "model", "backend", "processing_time")
    MATCHES_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_TIME_FIELD_NUMBER: _ClassVar[int]
    matches: _containers.RepeatedCompositeFieldContainer[TextMatch]
    model: str
    backend: str
    processing_time: _duration_pb2.Duration
    def __init__(self, matches: _Optional[_Iterable[_Union[TextMatch, _Mapping]]] = ..., model: _Optional[str] = ..., backend: _Optional[str] = ..., processing_time: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "version", "task", "backend", "format", "input_shape", "loaded", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHAPE_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: str
    task: str
    backend: str
    format: str
    input_shape: _containers.RepeatedScalarFieldContainer[int]
    loaded: bool
    description: str
    def __init__(self, name: _Optional[str] = ..., version: _Optional[str] = ..., task: _Optional[str] = ..., backend: _Optional[str] = ..., format: _Optional[str] = ..., input_shape: _Optional[_Iterable[int]] = ..., loaded: _Optional[bool] = ..., description: _Optional[str] = ...) -> None: ...

class ListModelsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListModelsResponse(_message.Message):
    __slots__ = ("models",)
    MODELS_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    def __init__(self, models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ...) -> None: ...

class GetDeviceInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetDeviceInfoResponse(_message.Message):
    __slots__ = ("backend", "compute_units", "platform", "models", "cpu_count", "details")
    class DetailsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BACKEND_FIELD_NUMBER: _ClassVar[int]
    COMPUTE_UNITS_FIELD_NUMBER: _ClassVar[int]
    PLATFORM_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    CPU_COUNT_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    backend: str
    compute_units: str
    platform: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    cpu_count: int
    details: _containers.ScalarMap[str, str]
    def __init__(self, backend: _Optional[str] = ..., compute_units: _Optional[str] = ..., platform: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., cpu_count: _Optional[int] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...
