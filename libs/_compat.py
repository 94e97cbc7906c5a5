"""Every use of a dependency's private internals, in one module (issue 13).

Each accessor below touches one private attribute of prometheus_client, the OpenTelemetry
SDK, grpcio or grpcio-reflection, and nothing else in `libs/` or `services/` may. Where the
internal can vanish in an upgrade, the accessor returns None and its caller falls back to the
public API (slower, never wrong). `tests/unit/test_compat.py` asserts that every internal
still exists with the type and behaviour we rely on, so an upgrade that breaks one fails CI
with a message naming it, instead of silently taking the slow path (or, for the few without
a fallback, failing at import).

A private fast path is kept only where it pays; each says by how much, measured with
`.venv/bin/python bench/compat_fast_paths.py` (each fast path against its public equivalent;
two runs on the shared 2-core machine at load 7-8, 2026-12-03, so read the ranges, not the
digits). Dropped because they did not pay: prometheus_client's `child._value.inc`
(0.04-0.27 µs per increment, ~5 per call) and the provider's `_span_processors` list used to
skip the batch processor's no-op hooks (0.17-0.33 µs per span). The stock health servicer's
`_server_status`/`_server_watchers`/`_set` are not used either: libs/runtime/health.py keeps
its own state on the generated (public) base class, and interceptors rebuild method handlers
with grpc's public `*_rpc_method_handler` (libs/handlers.py) instead of `handler._replace`
on grpc's private namedtuple. For scale: our server
interceptor adds ~60-140 µs of CPU per call (bench/README.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import grpc

# --- prometheus_client (0.26) ----------------------------------------------------------------


def histogram_internals(child: Any) -> tuple[list[float], list[Any], Any] | None:
    """(upper bounds, bucket value objects, sum value object) of a histogram child, or None.

    Pays: observe with an exemplar 1.2-2.0 µs vs 3.0-4.1 µs for the public
    `observe(v, {"trace_id": t})` (which validates the exemplar's labels and walks the
    buckets linearly), one per call: kept, with a fallback."""
    bounds = getattr(child, "_upper_bounds", None)
    buckets = getattr(child, "_buckets", None)
    total = getattr(child, "_sum", None)
    if bounds is None or buckets is None or total is None or len(bounds) != len(buckets):
        return None
    return list(bounds), buckets, total


# --- OpenTelemetry SDK (1.45) ----------------------------------------------------------------
# RpcSpan (libs/observability/rpc_span.py) builds the SDK's ReadableSpan itself; the SDK gives
# no public way to read a tracer's limits and scope, or to ask whether it is enabled.
# Pays: a server span's start+end 4 µs vs 41 µs through the public Tracer.start_span/end
# (measured into the same BatchSpanProcessor): the largest single saving; kept.


def tracer_span_limits(tracer: Any) -> Any:
    """The tracer provider's SpanLimits (`tracer._span_limits`); SpanLimits() from the
    environment when the SDK hides them (the same values unless set in code)."""
    limits = getattr(tracer, "_span_limits", None)
    if limits is None:
        from opentelemetry.sdk.trace import SpanLimits

        limits = SpanLimits()
    return limits


def tracer_scope(tracer: Any) -> Any:
    """The tracer's InstrumentationScope (`tracer._instrumentation_scope`), or one built from
    the public (deprecated) `instrumentation_info`."""
    scope = getattr(tracer, "_instrumentation_scope", None)
    if scope is None:
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        info = tracer.instrumentation_info
        scope = InstrumentationScope(info.name, info.version, info.schema_url)
    return scope


def tracer_enabled(tracer: Any) -> bool:
    """`tracer._is_enabled()` (False when OTEL's tracer configurator disabled this scope);
    True when the SDK has no such method."""
    is_enabled = getattr(tracer, "_is_enabled", None)
    return True if is_enabled is None else bool(is_enabled())


ON_ENDING = "_on_ending"  # the SDK's (private) hook name: processor._on_ending(span)


def on_ending_hook(processor: Any) -> Callable[[Any], None] | None:
    """The processor's `_on_ending(span)` hook, called before `on_end` as the SDK does."""
    return getattr(processor, ON_ENDING, None)


def parent_based_delegates(sampler: Any) -> dict[str, Any] | None:
    """The five delegates of a ParentBased sampler (`_root`, `_remote_parent_sampled`, ...),
    or None. Lets RpcSpan decide the default ParentBased(ALWAYS_ON) inline.

    Pays: 0.4-0.65 µs inline vs 2.2-2.3 µs for `sampler.should_sample(...)` per span:
    kept, with a fallback (any other sampler is asked through its public method)."""
    names = ("_root", "_remote_parent_sampled", "_remote_parent_not_sampled",
             "_local_parent_sampled", "_local_parent_not_sampled")
    values = {name[1:]: getattr(sampler, name, None) for name in names}
    return None if any(v is None for v in values.values()) else values


# --- opentelemetry-exporter-otlp-proto-grpc (1.45) ------------------------------------------

OTLP_TRANSLATE = "_translate_data"  # the exporter's (private) spans -> request hook


def otlp_grpc_span_exporter(**kwargs: Any) -> Any:
    """The OTLP/gRPC span exporter, encoding with libs.observability.otlp_encoding instead
    of the SDK's encoder by overriding its private `_translate_data(spans) -> request`.

    Pays: ~14 µs instead of ~60-100 µs of Python per exported span (bench/otlp_encoding.py),
    i.e. most of what the production configuration (every call sampled) paid for tracing.
    Falls back to the stock exporter (same output, slower) if the hook is gone."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    if not callable(getattr(OTLPSpanExporter, OTLP_TRANSLATE, None)):
        return OTLPSpanExporter(**kwargs)

    from libs.observability.otlp_encoding import SpanEncoder

    class FastOTLPSpanExporter(OTLPSpanExporter):
        """OTLPSpanExporter (retries, timeouts, compression, headers: all its own) with a
        faster encoder; the request sent is the same message."""

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            self._bytebot_encoder = SpanEncoder()

        def _translate_data(self, data: Any) -> Any:
            return self._bytebot_encoder.encode(data)

    return FastOTLPSpanExporter(**kwargs)


# --- grpcio (1.85) ---------------------------------------------------------------------------


def aio_call_status_now(grpc_call: Any) -> tuple[grpc.StatusCode, str] | None:
    """The final status of a finished grpc.aio call, read without awaiting: grpc keeps it on
    the Cython call (`call._cython_call._status`) and maps codes with `grpc._common`'s table.
    None if this grpc hides it; the caller then awaits code()/details() in a task.

    Pays: 1.7-6.3 µs vs 7.2-19.7 µs for a task awaiting code() and details(), per client
    call: kept, with a fallback."""
    status = getattr(getattr(grpc_call, "_cython_call", None), "_status", None)
    if status is None:
        return None
    from grpc._common import CYGRPC_STATUS_CODE_TO_STATUS_CODE

    return CYGRPC_STATUS_CODE_TO_STATUS_CODE[status.code()], status.details()


# grpc.aio's stop() can return while a call's task is still winding down; server.py waits for
# those tasks, found by the name of grpc's coroutine (grpc/_cython/_cygrpc/aio/server.pyx.pxi).
# No public API lists a server's calls. Without this, a clean exit may log a spurious
# "Exception not handled by _handle_exceptions".
GRPC_RPC_COROUTINES = frozenset({"_handle_exceptions", "_schedule_rpc_coro", "_handle_rpc"})


def is_grpc_rpc_task(task: asyncio.Task[Any]) -> bool:
    """True if the task runs one of grpc.aio's per-RPC coroutines."""
    return getattr(task.get_coro(), "__name__", "") in GRPC_RPC_COROUTINES


# --- grpcio-reflection (1.85) ----------------------------------------------------------------


def reflection_base() -> tuple[type, Callable[[Any, dict[str, Any]], None],
                               Callable[[Any], Any]]:
    """(BaseReflectionServicer, _collect_transitive_dependencies, _not_found_error) from
    grpcio-reflection's private `grpc_reflection.v1alpha._base`: libs/runtime/reflection.py
    extends the stock servicer (v1, method and enum-value lookups). No fallback: an upgrade
    that moves them fails here, and tests/unit/test_compat.py says which name went where.
    A function, so importing this module does not need grpcio-reflection."""
    from grpc_reflection.v1alpha import _base

    return (_base.BaseReflectionServicer, _base._collect_transitive_dependencies,
            _base._not_found_error)


__all__ = [
    "GRPC_RPC_COROUTINES",
    "ON_ENDING",
    "OTLP_TRANSLATE",
    "aio_call_status_now",
    "histogram_internals",
    "is_grpc_rpc_task",
    "on_ending_hook",
    "otlp_grpc_span_exporter",
    "parent_based_delegates",
    "reflection_base",
    "tracer_enabled",
    "tracer_scope",
    "tracer_span_limits",
]
