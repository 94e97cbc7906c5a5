"""A faster encoder of finished spans into an OTLP `ExportTraceServiceRequest`.

Why: the OTLP exporter's own encoder (`opentelemetry-exporter-otlp-proto-common`) costs ~100 µs
of Python per span on this machine (`bench/otlp_encoding.py`): it hashes every span's Resource
(a `json.dumps` of all its attributes) to group spans, and builds every attribute's
`KeyValue`/`AnyValue` from scratch through an `isinstance` chain. In the production
configuration (every call sampled) that was the largest single cost per call, paid in the
export thread but on the same GIL as the RPCs. Here resources and scopes are grouped by
identity (the SDK shares one object per provider/tracer) and encoded once, and the
`KeyValue` of a repeated (key, value) pair — most RPC span attributes repeat per method — is
built once and reused. The output is the same message (tests/unit/observability/
test_otlp_encoding.py compares it with the SDK encoder's on varied spans).
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import Span, SpanFlags, Status
from opentelemetry.trace import SpanKind

_KIND = {
    SpanKind.INTERNAL: Span.SpanKind.SPAN_KIND_INTERNAL,
    SpanKind.SERVER: Span.SpanKind.SPAN_KIND_SERVER,
    SpanKind.CLIENT: Span.SpanKind.SPAN_KIND_CLIENT,
    SpanKind.PRODUCER: Span.SpanKind.SPAN_KIND_PRODUCER,
    SpanKind.CONSUMER: Span.SpanKind.SPAN_KIND_CONSUMER,
}
_HAS_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_IS_REMOTE = SpanFlags.SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_SCALARS = (str, bool, int, float)
_MAX_CACHED = 4096  # attribute pairs; bounded even if values vary per call


def _value(value: Any) -> AnyValue:
    # Same mapping as the SDK encoder's (bool before int: bool is an int).
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, Sequence):
        return AnyValue(array_value=ArrayValue(values=[_value(v) for v in value]))
    if isinstance(value, Mapping):
        return AnyValue(kvlist_value=KeyValueList(
            values=[KeyValue(key=str(k), value=_value(v)) for k, v in value.items()]))
    raise TypeError(f"invalid attribute value type {type(value).__name__}")


class SpanEncoder:
    """Encodes batches of SDK `ReadableSpan`s; one per exporter (not thread-safe: the batch
    processor exports from one thread)."""

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, type, Any], KeyValue] = {}
        self._framed: dict[tuple[str, type, Any], bytes] = {}
        self._resources: dict[int, tuple[Any, Resource]] = {}
        self._scopes: dict[int, tuple[Any, InstrumentationScope]] = {}

    def attributes(self, attributes: Mapping[str, Any] | None) -> list[KeyValue]:
        if not attributes:
            return []
        out = []
        pairs = self._pairs
        for key, value in attributes.items():
            cacheable = type(value) in _SCALARS
            if cacheable:
                kv = pairs.get((key, type(value), value))
                if kv is not None:
                    out.append(kv)
                    continue
            try:
                kv = KeyValue(key=key, value=_value(value))
            except TypeError:
                continue  # the SDK encoder logs and skips such a value too
            if cacheable and len(pairs) < _MAX_CACHED:
                pairs[(key, type(value), value)] = kv
            out.append(kv)
        return out

    def _resource(self, resource: Any) -> Resource:
        entry = self._resources.get(id(resource))
        if entry is None or entry[0] is not resource:
            entry = (resource, Resource(attributes=self.attributes(resource.attributes)))
            self._resources[id(resource)] = entry  # holds the object: its id stays unique
        return entry[1]

    def _scope(self, scope: Any) -> InstrumentationScope:
        entry = self._scopes.get(id(scope))
        if entry is None or entry[0] is not scope:
            pb = (InstrumentationScope() if scope is None else InstrumentationScope(
                name=scope.name, version=scope.version,
                attributes=self.attributes(scope.attributes)))
            entry = (scope, pb)
            self._scopes[id(scope)] = entry
        return entry[1]

    def _pair_bytes(self, attributes: Mapping[str, Any] | None) -> list[bytes]:
        """Each attribute as its serialized KeyValue, framed as field `attributes`."""
        if not attributes:
            return []
        out = []
        framed = self._framed
        for key, value in attributes.items():
            cacheable = type(value) in _SCALARS
            if cacheable:
                chunk = framed.get((key, type(value), value))
                if chunk is not None:
                    out.append(chunk)
                    continue
            try:
                body = KeyValue(key=key, value=_value(value)).SerializeToString()
            except TypeError:
                continue  # the SDK encoder logs and skips such a value too
            chunk = _ATTRIBUTES + _varint(len(body)) + body
            if cacheable and len(framed) < _MAX_CACHED:
                framed[(key, type(value), value)] = chunk
            out.append(chunk)
        return out

    def span_bytes(self, span: Any) -> bytes:
        """The wire form of one `Span` (fields as `encode_spans` sets them)."""
        ctx = span.get_span_context()
        parent = span.parent
        parts = [
            _TRACE_ID, ctx.trace_id.to_bytes(16, "big"),
            _SPAN_ID, ctx.span_id.to_bytes(8, "big"),
        ]
        trace_state = ctx.trace_state
        if trace_state:
            parts.append(_string(3, ",".join(f"{k}={v}" for k, v in trace_state.items())))
        if parent is not None:
            parts += (_PARENT_ID, parent.span_id.to_bytes(8, "big"))
        parts += (
            _string(5, span.name),
            _KIND_FIELD[span.kind],
            _START, _FIXED64(span.start_time or 0),
            _END, _FIXED64(span.end_time or 0),
        )
        parts += self._pair_bytes(span.attributes)
        if span.dropped_attributes:
            parts.append(_uint(10, span.dropped_attributes))
        for event in span.events:
            parts.append(_message(11, Span.Event(
                name=event.name, time_unix_nano=event.timestamp,
                attributes=self.attributes(event.attributes),
                dropped_attributes_count=event.dropped_attributes).SerializeToString()))
        if span.dropped_events:
            parts.append(_uint(12, span.dropped_events))
        for link in span.links:
            parts.append(_message(13, Span.Link(
                trace_id=link.context.trace_id.to_bytes(16, "big"),
                span_id=link.context.span_id.to_bytes(8, "big"),
                attributes=self.attributes(link.attributes),
                dropped_attributes_count=link.dropped_attributes,
                flags=_HAS_IS_REMOTE | (_IS_REMOTE if link.context.is_remote else 0),
            ).SerializeToString()))
        if span.dropped_links:
            parts.append(_uint(14, span.dropped_links))
        status = span.status
        if status is not None:
            code = status.status_code.value
            if status.description or code:
                parts.append(_message(15, Status(
                    code=code, message=status.description).SerializeToString()))
            else:
                parts.append(_EMPTY_STATUS)
        parts += (_FLAGS, _REMOTE_FLAGS if parent is not None and parent.is_remote
                  else _LOCAL_FLAGS)
        return b"".join(parts)

    def encode(self, spans: Sequence[Any]) -> ExportTraceServiceRequest:
        """Spans grouped by resource, then scope, in first-seen order (as the SDK does),
        encoded on the wire and parsed back once (protobuf's C parser is fast; building
        each Span message from Python was most of the cost)."""
        groups: dict[int, tuple[Any, dict[int, tuple[Any, list[bytes]]]]] = {}
        for sdk_span in spans:
            resource = sdk_span.resource
            scope = sdk_span.instrumentation_scope or None
            by_scope = groups.get(id(resource))
            if by_scope is None:
                by_scope = groups[id(resource)] = (resource, {})
            entry = by_scope[1].get(id(scope))
            if entry is None:
                entry = by_scope[1][id(scope)] = (scope, [])
            entry[1].append(_message(2, self.span_bytes(sdk_span)))
        out = []
        for resource, by_scope in groups.values():
            scope_spans = []
            for scope, framed_spans in by_scope.values():
                body = [_message(1, self._scope(scope).SerializeToString()), *framed_spans]
                if scope is not None and scope.schema_url:
                    body.append(_string(3, scope.schema_url))
                scope_spans.append(_message(2, b"".join(body)))
            body = [_message(1, self._resource(resource).SerializeToString()), *scope_spans]
            if resource.schema_url:
                body.append(_string(3, resource.schema_url))
            out.append(_message(1, b"".join(body)))
        return ExportTraceServiceRequest.FromString(b"".join(out))


# -- protobuf wire format (https://protobuf.dev/programming-guides/encoding/) --------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def _message(field: int, body: bytes) -> bytes:
    return _tag(field, 2) + _varint(len(body)) + body


def _string(field: int, text: str) -> bytes:
    return _message(field, text.encode("utf-8", "replace"))


def _uint(field: int, n: int) -> bytes:
    return _tag(field, 0) + _varint(n)


_FIXED64 = struct.Struct("<Q").pack
_TRACE_ID = _tag(1, 2) + _varint(16)
_SPAN_ID = _tag(2, 2) + _varint(8)
_PARENT_ID = _tag(4, 2) + _varint(8)
_START = _tag(7, 1)
_END = _tag(8, 1)
_ATTRIBUTES = _tag(9, 2)
_FLAGS = _tag(16, 5)
_LOCAL_FLAGS = struct.pack("<I", _HAS_IS_REMOTE)
_REMOTE_FLAGS = struct.pack("<I", _HAS_IS_REMOTE | _IS_REMOTE)
_EMPTY_STATUS = _message(15, b"")
_KIND_FIELD = {kind: _uint(6, value) if value else b"" for kind, value in _KIND.items()}


__all__ = ["SpanEncoder", "encode_spans"]
