"""OpenTelemetry tracing (DESIGN §7): provider from the standard OTEL_* variables, propagation,
and `traced`, the span helper equivalent to the source document's `traceOperation`.

Exporter choice (`OTEL_TRACES_EXPORTER`, comma separated: `otlp`, `console`, `none`):
when neither it nor an OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`,
`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, spans are created (trace ids reach logs and
exemplars) but not exported, so a laptop run does not spam connection errors; set either
variable to export over OTLP (`OTEL_EXPORTER_OTLP_PROTOCOL` grpc, the default, or
http/protobuf). The sampler comes from `OTEL_TRACES_SAMPLER`/`OTEL_TRACES_SAMPLER_ARG`
(SDK default parentbased_always_on); `OTEL_SDK_DISABLED=true` turns tracing off.

Propagation: W3C tracecontext + baggage are always injected; extraction also accepts B3
(single `b3` header and multi `x-b3-*` headers) for meshes. Outgoing calls also carry B3 in
the format the call being served came in with (a mesh that sent `b3` gets `b3` back on the
next hop, one that sent `x-b3-*` gets those), so a Zipkin-style mesh follows the trace
through the service; `OTEL_PROPAGATORS` containing `b3` / `b3multi` adds that B3 format to
every outgoing call (its other entries are ignored: W3C and baggage are always on).
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.b3 import B3MultiFormat, B3SingleFormat
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace import Tracer as SdkTracer
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
)
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from libs import _compat
from libs.observability.rpc_span import RpcSpanFactory

F = TypeVar("F")

INSTRUMENTATION_NAME = "bytebot.observability"

# Injection writes W3C only; extraction tries W3C first, then B3 (which reads both the single
# `b3` header and the `x-b3-*` multi headers).
_W3C = TraceContextTextMapPropagator()
_BAGGAGE = W3CBaggagePropagator()
INJECTOR = CompositePropagator([_W3C, _BAGGAGE])
EXTRACTOR = CompositePropagator([B3MultiFormat(), _W3C, _BAGGAGE])
_B3_KEYS = frozenset({"b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled"})
# Metadata keys that mean "a parent context came with this call" (lets calls without any skip
# the propagator work entirely).
PROPAGATION_KEYS = frozenset(
    {"traceparent", "tracestate", "baggage", "b3", "x-b3-traceid", "x-b3-spanid", "x-b3-sampled"}
)

# The B3 format a served call came in with, kept in its context for the calls it makes.
_B3_SINGLE = B3SingleFormat()
_B3_MULTI = B3MultiFormat()
_INBOUND_B3 = otel_context.create_key("bytebot.inbound_b3_format")


def b3_from_env() -> tuple[Any, ...]:
    """The B3 injectors OTEL_PROPAGATORS asks for on every call (`b3`, `b3multi`)."""
    names = {n.strip().lower() for n in os.environ.get("OTEL_PROPAGATORS", "").split(",")}
    return tuple(p for n, p in (("b3", _B3_SINGLE), ("b3multi", _B3_MULTI)) if n in names)


class _State:
    def __init__(self) -> None:
        self.provider: TracerProvider | None = None
        self.tracer: Tracer = trace.NoOpTracer()
        # The RPC interceptors' lean span path (None: no SDK tracer, spans are no-ops).
        self.rpc_spans: RpcSpanFactory | None = None
        self.global_set = False
        self.b3_always: tuple[Any, ...] = b3_from_env()


_state = _State()


def _exporters_from_env() -> list[SpanExporter]:
    names_env = os.environ.get("OTEL_TRACES_EXPORTER", "").strip()
    if not names_env:
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_ENDPOINT"
        )
        names_env = "otlp" if endpoint else "none"
    exporters: list[SpanExporter] = []
    for name in (n.strip().lower() for n in names_env.split(",")):
        if name in ("", "none"):
            continue
        if name == "console":
            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            exporters.append(_otlp_exporter())
        else:
            raise ValueError(
                f"OTEL_TRACES_EXPORTER={name!r} is not supported (otlp, console, none)"
            )
    return exporters


def _otlp_exporter() -> SpanExporter:
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "grpc"
    )
    if protocol.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return _compat.otlp_grpc_span_exporter()  # the stock exporter with a faster encoder


def configure(
    service_name: str,
    version: str = "0.0.0",
    environment: str = "development",
    *,
    exporters: list[SpanExporter] | None = None,
    processor: str = "batch",
    sampler: Any = None,
) -> TracerProvider | None:
    """Build the process's TracerProvider; `exporters` overrides the env (tests, benchmarks).

    Calling again replaces the provider (the old one is shut down). The first provider is also
    installed as the OpenTelemetry global, so third-party instrumentation shares it.
    """
    shutdown()
    _state.b3_always = b3_from_env()
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        _state.tracer = trace.NoOpTracer()
        return None
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME") or service_name,
            "service.version": version,
            "deployment.environment.name": environment,
        }
    )
    provider = TracerProvider(resource=resource, sampler=sampler) if sampler else TracerProvider(
        resource=resource
    )
    for exporter in _exporters_from_env() if exporters is None else exporters:
        span_processor: SpanProcessor = (
            SimpleSpanProcessor(exporter) if processor == "simple" else BatchSpanProcessor(exporter)
        )
        provider.add_span_processor(span_processor)
    _state.provider = provider
    _state.tracer = provider.get_tracer(INSTRUMENTATION_NAME)
    _state.rpc_spans = (
        RpcSpanFactory(_state.tracer) if isinstance(_state.tracer, SdkTracer) else None
    )
    if not _state.global_set:
        trace.set_tracer_provider(provider)
        propagate.set_global_textmap(EXTRACTOR)
        _state.global_set = True
    return provider


def shutdown() -> None:
    """Flush and stop the current provider (pending spans are exported)."""
    provider, _state.provider = _state.provider, None
    _state.tracer = trace.NoOpTracer()
    _state.rpc_spans = None
    if provider is not None:
        provider.force_flush()
        provider.shutdown()


def force_flush(timeout_millis: int = 5000) -> bool:
    return _state.provider.force_flush(timeout_millis) if _state.provider else True


def get_tracer() -> Tracer:
    """The tracer of our provider (a no-op one until `configure` ran)."""
    return _state.tracer


def rpc_span_factory() -> RpcSpanFactory | None:
    """The interceptors' span maker for the current provider (None when tracing is off)."""
    return _state.rpc_spans


# --- propagation ------------------------------------------------------------------------


def inject_context(carrier: dict[str, str] | None = None, context: Any = None) -> dict[str, str]:
    """W3C traceparent/tracestate/baggage of the current (or given) context, e.g. to store
    with a task so the worker's spans continue the trace that created it."""
    carrier = {} if carrier is None else carrier
    INJECTOR.inject(carrier, context=context)
    return carrier


def extract_context(carrier: Mapping[str, str]) -> otel_context.Context:
    """A context holding the remote parent described by `carrier` (W3C or B3 headers)."""
    lowered = {k.lower(): v for k, v in carrier.items()}
    return EXTRACTOR.extract(lowered)


def extract_rpc_parent(metadata: Mapping[str, Any]) -> otel_context.Context | None:
    """EXTRACTOR.extract for lower-cased RPC metadata, skipping the propagators whose
    headers are absent (the common call carries a traceparent only); None = no parent.
    A call that came with B3 headers also records their format (single or multi) in the
    context, so `inject_span` answers the mesh in kind on the next hop."""
    if _B3_KEYS.isdisjoint(metadata):
        ctx = _W3C.extract(metadata) if "traceparent" in metadata else None
        if "baggage" in metadata:
            ctx = _BAGGAGE.extract(metadata, context=ctx)
        return ctx
    fmt = _B3_SINGLE if "b3" in metadata else _B3_MULTI
    return otel_context.set_value(_INBOUND_B3, fmt, EXTRACTOR.extract(metadata))


def inject_span(span: Span, carrier: dict[str, str]) -> None:
    """INJECTOR.inject naming `span` as the parent, plus the current baggage: W3C
    `traceparent` (and `tracestate`) written directly, the baggage propagator only when
    there is baggage."""
    ctx = span.get_span_context()
    if ctx.is_valid:
        carrier["traceparent"] = f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"
        if ctx.trace_state:
            carrier["tracestate"] = ctx.trace_state.to_header()
    if baggage.get_all():
        _BAGGAGE.inject(carrier)
    inbound = otel_context.get_value(_INBOUND_B3)
    if (inbound is not None or _state.b3_always) and ctx.is_valid:
        span_ctx = trace.set_span_in_context(span)
        for b3 in {*_state.b3_always, *((inbound,) if inbound is not None else ())}:
            b3.inject(carrier, context=span_ctx)


def trace_ids() -> tuple[str, str] | None:
    """(trace_id, span_id) in hex of the current span, None when there is none."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


# --- traced -----------------------------------------------------------------------------


class traced:
    """Run code in a span: a decorator for sync and async functions, or a context manager.

        @traced("task.process", attributes={"task.type": "immediate"})
        async def process(task): ...

        with traced("step.execute", attributes={"step.index": 0}) as span: ...

    An exception is recorded on the span, the status set to ERROR, and the exception re-raised.
    `context` gives an explicit parent (e.g. from `extract_context`); `links` link other spans.
    """

    def __init__(
        self,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        kind: SpanKind = SpanKind.INTERNAL,
        context: otel_context.Context | None = None,
        links: Any = None,
    ) -> None:
        self.name = name
        self.attributes = dict(attributes or {})
        self.kind = kind
        self.context = context
        self.links = links
        self._cm: Any = None

    @contextmanager
    def _span(self) -> Iterator[Span]:
        tracer = get_tracer()
        with tracer.start_as_current_span(
            self.name,
            context=self.context,
            kind=self.kind,
            attributes=self.attributes,
            links=self.links,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield span
            except BaseException as exc:
                span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
                raise

    def __enter__(self) -> Span:
        self._cm = self._span()
        return self._cm.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        cm, self._cm = self._cm, None
        return cm.__exit__(*exc)

    def __call__(self, fn: Any) -> Any:
        spec = self

        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with spec._span():
                    return await fn(*args, **kwargs)

            return async_wrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with spec._span():
                return fn(*args, **kwargs)

        return wrapper
