"""Upgrade guards for libs/_compat.py: every private internal we use still exists and does
what we rely on. A failure here means a dependency upgrade moved an internal: the message
says which one and what to do (fix the accessor in libs/_compat.py, or drop the fast path
for the public API it names)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
from grpc import aio
from opentelemetry.sdk.trace import SpanLimits, TracerProvider, sampling
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from prometheus_client import CollectorRegistry, Histogram

from libs import _compat
from libs.observability.testing import conformance as conf

UPGRADE = "a dependency upgrade moved a private internal used by libs/_compat.py: "


def test_prometheus_histogram_internals_are_the_buckets_and_sum() -> None:
    registry = CollectorRegistry()
    child = Histogram("h_seconds", "h", ["a"], buckets=(0.1, 1.0), registry=registry).labels("x")
    parts = _compat.histogram_internals(child)
    assert parts is not None, UPGRADE + "histogram child lost `_upper_bounds`/`_buckets`/`_sum`"
    bounds, buckets, total = parts
    assert bounds == [0.1, 1.0, float("inf")], UPGRADE + f"`_upper_bounds` is {bounds!r}"
    buckets[1].inc(1)  # what FastHistogram does for a 0.5 s observation
    total.inc(0.5)
    samples = {
        (s.name, s.labels.get("le")): s.value
        for s in registry.collect().__next__().samples
    }
    assert samples[("h_seconds_bucket", "1.0")] == 1, UPGRADE + "`_buckets` are not cumulative"
    assert samples[("h_seconds_bucket", "0.1")] == 0
    assert samples[("h_seconds_sum", None)] == 0.5, UPGRADE + "`_sum` is not the exposed sum"


def test_fast_histogram_matches_the_public_observe() -> None:
    from libs.observability.metrics import FastHistogram

    registry = CollectorRegistry()
    hist = Histogram("h2_seconds", "h", ["a"], buckets=(0.1, 1.0), registry=registry)
    fast, public = FastHistogram(hist.labels("fast")), hist.labels("public")
    assert fast.sum_inc is not None, UPGRADE + "FastHistogram fell back to the public API"
    for value in (0.05, 0.1, 0.7, 3.0):
        fast.observe(value, "0af7651916cd43dd8448eb211c80319c")
        public.observe(value, {"trace_id": "0af7651916cd43dd8448eb211c80319c"})
    by_series: dict[str, dict[tuple[str, str | None], float]] = {}
    for s in registry.collect().__next__().samples:
        if s.name.endswith("_created"):
            continue
        by_series.setdefault(s.labels["a"], {})[(s.name, s.labels.get("le"))] = s.value
    assert by_series["fast"] == by_series["public"]


def _tracer():
    provider = TracerProvider(span_limits=SpanLimits(max_attributes=7))
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    return provider.get_tracer("compat-test", "1.2")


def test_otel_tracer_limits_scope_and_enabled() -> None:
    tracer = _tracer()
    assert hasattr(tracer, "_span_limits"), UPGRADE + "SDK Tracer has no `_span_limits`"
    limits = _compat.tracer_span_limits(tracer)
    assert isinstance(limits, SpanLimits) and limits.max_span_attributes == 7, (
        UPGRADE + "`Tracer._span_limits` is not the provider's SpanLimits"
    )
    assert hasattr(tracer, "_instrumentation_scope"), UPGRADE + "no `_instrumentation_scope`"
    scope = _compat.tracer_scope(tracer)
    assert isinstance(scope, InstrumentationScope)
    assert (scope.name, scope.version) == ("compat-test", "1.2")
    assert hasattr(tracer, "_is_enabled"), UPGRADE + "SDK Tracer has no `_is_enabled()`"
    assert _compat.tracer_enabled(tracer) is True


def test_otel_on_ending_hook() -> None:
    tracer = _tracer()
    hook = _compat.on_ending_hook(tracer.span_processor)
    assert callable(hook), UPGRADE + f"span processors have no `{_compat.ON_ENDING}` hook"
    span = tracer.start_span("s")
    hook(span)  # the SDK calls it with the span before on_end
    span.end()


def test_otel_parent_based_delegates() -> None:
    delegates = _compat.parent_based_delegates(sampling.DEFAULT_ON)
    assert delegates is not None, UPGRADE + "ParentBased lost its `_root`/`_*_parent_*` fields"
    assert delegates["root"] is sampling.ALWAYS_ON
    assert delegates["remote_parent_not_sampled"] is sampling.ALWAYS_OFF
    custom = sampling.ParentBased(sampling.TraceIdRatioBased(0.5))
    assert _compat.parent_based_delegates(custom)["root"] is not sampling.ALWAYS_ON  # type: ignore[index]


def test_lean_rpc_span_still_recognises_the_default_sampler() -> None:
    from libs.observability.rpc_span import RpcSpanFactory

    factory = RpcSpanFactory(_tracer())
    assert factory.default_sampler, UPGRADE + "the inline ParentBased(ALWAYS_ON) path is off"


async def _one_call_each_code() -> list[tuple[grpc.StatusCode, str] | None]:
    server, target = await conf.start_aio_server([])
    try:
        async with aio.insecure_channel(target) as channel:
            stub = pb_grpc.ConformanceServiceStub(channel)
            results = []
            abort = pb.ConformanceRequest(
                behavior=pb.Behavior.BEHAVIOR_CONTEXT_ABORT,
                code=grpc.StatusCode.NOT_FOUND.value[0], message="no such thing",
            )
            for request in (pb.ConformanceRequest(payload="ok"), abort):
                call = stub.Unary(request)
                try:
                    await call
                except grpc.RpcError:
                    pass
                results.append(_compat.aio_call_status_now(call))
            return results
    finally:
        await server.stop(0.001)


def test_grpc_aio_call_status_without_awaiting() -> None:
    ok, not_found = asyncio.run(_one_call_each_code())
    assert ok is not None, UPGRADE + "grpc.aio calls lost `_cython_call._status`"
    assert ok == (grpc.StatusCode.OK, "")
    assert not_found is not None and not_found[0] is grpc.StatusCode.NOT_FOUND, (
        UPGRADE + "`grpc._common.CYGRPC_STATUS_CODE_TO_STATUS_CODE` maps codes differently"
    )
    assert "no such thing" in not_found[1]


async def _tasks_during_a_call() -> list[bool]:
    started = asyncio.Event()
    release = asyncio.Event()

    class Slow(conf.AioConformance):
        async def Unary(self, request, context):
            started.set()
            await release.wait()
            return pb.ConformanceResponse()

    server, target = await conf.start_aio_server([], Slow())
    try:
        async with aio.insecure_channel(target) as channel:
            call = pb_grpc.ConformanceServiceStub(channel).Unary(pb.ConformanceRequest())
            await asyncio.wait_for(started.wait(), 10)
            flags = [_compat.is_grpc_rpc_task(t) for t in asyncio.all_tasks()]
            release.set()
            await call
            return flags
    finally:
        await server.stop(0.001)


def test_grpc_aio_rpc_tasks_are_found_by_coroutine_name() -> None:
    flags = asyncio.run(_tasks_during_a_call())
    assert any(flags), (
        UPGRADE + "no task runs a coroutine named in GRPC_RPC_COROUTINES "
        f"{sorted(_compat.GRPC_RPC_COROUTINES)}: grpc.aio renamed its per-RPC coroutine"
    )
    assert not all(flags)  # this test's own task is not one


def test_grpc_reflection_private_base() -> None:
    from google.protobuf import descriptor_pool
    from grpc_reflection.v1alpha import reflection_pb2

    base, collect, not_found = _compat.reflection_base()
    assert isinstance(base, type) and hasattr(base, "__init__")
    pool = descriptor_pool.Default()
    descriptor = pool.FindFileByName("bytebot/testing/v1/conformance.proto")
    seen: dict[str, object] = {}
    collect(descriptor, seen)
    assert "bytebot/testing/v1/conformance.proto" in seen, (
        UPGRADE + "`_collect_transitive_dependencies(descriptor, names)` changed its contract"
    )
    request = reflection_pb2.ServerReflectionRequest(file_by_filename="nope.proto")
    response = not_found(request)
    assert isinstance(response, reflection_pb2.ServerReflectionResponse)
    assert response.error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0], (
        UPGRADE + "`_not_found_error(request)` no longer answers NOT_FOUND"
    )


@pytest.mark.parametrize("name", sorted(_compat.__all__))
def test_every_accessor_is_exported(name: str) -> None:
    assert hasattr(_compat, name)


def test_otlp_grpc_exporter_translate_hook_sends_our_encoding() -> None:
    """The OTLP/gRPC exporter still builds its request through `_translate_data(spans)`, and
    the exporter built on it delivers the spans to a real receiver."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.sdk.trace.export import SpanExportResult

    from libs.observability.testing.otlp_receiver import OtlpReceiver

    assert callable(getattr(OTLPSpanExporter, _compat.OTLP_TRANSLATE, None)), (
        UPGRADE + "OTLPSpanExporter._translate_data is gone: the fast encoder is not used "
        "(libs/_compat.py otlp_grpc_span_exporter falls back to the stock exporter)"
    )
    provider = TracerProvider()
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    with provider.get_tracer("t").start_as_current_span("compat", attributes={"a": 1}):
        pass
    spans = memory.get_finished_spans()
    with OtlpReceiver() as receiver:
        exporter = _compat.otlp_grpc_span_exporter(endpoint=receiver.endpoint, insecure=True)
        assert type(exporter).__name__ == "FastOTLPSpanExporter"
        request = exporter._translate_data(spans)
        assert isinstance(request, ExportTraceServiceRequest), (
            UPGRADE + "_translate_data no longer returns the ExportTraceServiceRequest sent"
        )
        assert exporter.export(spans) is SpanExportResult.SUCCESS
        exporter.shutdown()
        received = receiver.snapshot()
    assert [(s.name, s.attributes) for s in received] == [("compat", {"a": 1})]
