"""The span signal of the per-call reporter: OTel RPC server and client spans.

Span name `pkg.Service/Method` (no leading slash), kind SERVER/CLIENT; attributes
`rpc.system.name`=grpc (and the older `rpc.system`), `rpc.method` (`pkg.Service/Method`, the
current convention), `rpc.service`, `rpc.status_code` (e.g. "NOT_FOUND"), the older integer
`rpc.grpc.status_code`, `network.peer.address/port` on servers, `server.address/port` on
clients. A server span is ERROR only for codes meaning the server failed; a client span for
any non-OK code.
"""

from __future__ import annotations

from typing import Any

import grpc
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from libs.edge.callmeta import CallMeta
from libs.observability import tracing
from libs.observability.codes import ALL_CODES, NUMBER, SERVER_SPAN_ERROR, UPPER_NAME
from libs.observability.reporter import CallState, NoopReporter
from libs.observability.rpc_span import RpcSpan

_CODE_ATTRS: dict[grpc.StatusCode, dict[str, Any]] = {
    code: {"rpc.status_code": UPPER_NAME[code], "rpc.grpc.status_code": NUMBER[code]}
    for code in ALL_CODES
}
_EMPTY = otel_context.Context()


def static_attributes(meta: CallMeta) -> dict[str, Any]:
    return {
        "rpc.system.name": "grpc",
        "rpc.system": "grpc",
        "rpc.method": meta.span_name,
        "rpc.service": meta.service,
    }


class ServerSpanReporter(NoopReporter):
    """Starts the server span as the current span of the call's own context."""

    __slots__ = ("attrs", "name")

    def __init__(self, meta: CallMeta) -> None:
        self.name = meta.span_name
        self.attrs = static_attributes(meta)

    def started(self, call: CallState, metadata: dict[str, Any]) -> None:
        parent = _EMPTY
        if not tracing.PROPAGATION_KEYS.isdisjoint(metadata):
            parent = tracing.extract_rpc_parent(metadata) or _EMPTY
        address, port = call.peer
        attrs = self.attrs.copy()
        attrs["network.peer.address"] = address
        if port is not None:
            attrs["network.peer.port"] = port
        factory = tracing.rpc_span_factory()
        if factory is not None:
            span = factory.start(self.name, SpanKind.SERVER, parent, attrs)
        else:  # tracing off: the no-op tracer's span
            span = tracing.get_tracer().start_span(
                self.name, context=parent, kind=SpanKind.SERVER, attributes=attrs
            )
        call.span = span
        # The interceptors run every call in a context of its own, so this never leaks into
        # another call and needs no detach.
        otel_context.attach(trace.set_span_in_context(span, parent))

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        span = call.span
        if span is None or not span.is_recording():
            return
        _set_code(span, code)
        if call.error is not None:
            span.record_exception(call.error)
        if code in SERVER_SPAN_ERROR:
            span.set_status(Status(StatusCode.ERROR, details or code.name))
        span.end()


class ClientSpanReporter(NoopReporter):
    """Starts the client span as a child of the caller's current span (not made current:
    the caller's code carries on in its own context); the interceptor injects it."""

    __slots__ = ("attrs", "name")

    def __init__(self, meta: CallMeta, server_address: str | None, server_port: int | None):
        self.name = meta.span_name
        self.attrs = static_attributes(meta)
        if server_address:
            self.attrs["server.address"] = server_address
        if server_port is not None:
            self.attrs["server.port"] = server_port

    def started(self, call: CallState, metadata: dict[str, Any]) -> None:
        factory = tracing.rpc_span_factory()
        if factory is not None:
            # Child of the caller's current span (the default context).
            call.span = factory.start(self.name, SpanKind.CLIENT, None, self.attrs.copy())
        else:
            call.span = tracing.get_tracer().start_span(
                self.name, kind=SpanKind.CLIENT, attributes=self.attrs
            )

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        span = call.span
        if span is None or not span.is_recording():
            return
        _set_code(span, code)
        if code is not grpc.StatusCode.OK:
            span.set_status(Status(StatusCode.ERROR, details or code.name))
        span.end()


def _set_code(span: Any, code: grpc.StatusCode) -> None:
    if span.__class__ is RpcSpan:
        span.set_known(_CODE_ATTRS[code])  # values known valid: skip validation
    else:
        span.set_attributes(_CODE_ATTRS[code])


class SpanReporterFactory:
    def __init__(self, server_address: str | None = None, server_port: int | None = None):
        self.server_address = server_address
        self.server_port = server_port

    def for_method(self, meta: CallMeta) -> NoopReporter:
        if meta.is_client:
            return ClientSpanReporter(meta, self.server_address, self.server_port)
        return ServerSpanReporter(meta)


def inject_for(span: Any, carrier: dict[str, str]) -> None:
    """traceparent/tracestate/baggage naming `span` as the parent (plus the current baggage)."""
    tracing.inject_span(span, carrier)
