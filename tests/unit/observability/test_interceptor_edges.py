"""Interceptor edge cases beyond the conformance matrix: calls to unknown methods,
`context.write()`/`context.read()` streaming handlers, the lean RPC span against the SDK's
own span, and the fast histogram path against prometheus_client's public one."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from grpc import aio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from prometheus_client import CollectorRegistry, Histogram

from libs.observability import tracing
from libs.observability.metrics import FastHistogram
from libs.observability.rpc_span import RpcSpanFactory
from libs.observability.testing import conformance as conf
from tests.conformance import harness as h

UNKNOWN = f"/{conf.SERVICE}/NoSuchMethod"
OTHER = {"grpc_type": "unary", "grpc_service": "other", "grpc_method": "other"}


@pytest.fixture
def env():
    e = h.make_env()
    yield e
    h.teardown_env()


def _unknown_sync(target: str, method: str) -> grpc.RpcError:
    with grpc.insecure_channel(target) as channel:
        with pytest.raises(grpc.RpcError) as info:
            channel.unary_unary(method)(b"", timeout=10)
    return info.value


async def _unknown_aio(target: str, method: str) -> aio.AioRpcError:
    async with aio.insecure_channel(target) as channel:
        with pytest.raises(aio.AioRpcError) as info:
            await channel.unary_unary(method)(b"", timeout=10)
    return info.value


def _assert_unknown_observed(env: h.Env) -> None:
    assert env.sample("grpc_server_handled_total", **OTHER, grpc_code="Unimplemented") == 1
    assert env.sample("bytebot_api_requests_total", method="unary", endpoint="other",
                      status_code="501", grpc_code="Unimplemented") == 1
    # One shared series, not a label-guard overflow.
    assert env.sample("bytebot_metric_label_overflow_total",
                      metric="bytebot_api_requests_total", label="endpoint") == 0
    lines = [x for x in env.logs() if x["message"] == "finished call"]
    assert len(lines) == 1 and lines[0]["grpc.code"] == "Unimplemented"
    assert lines[0]["level"] == "error" and lines[0]["grpc.method"] == "other"
    spans = env.spans.get_finished_spans()
    assert len(spans) == 1 and spans[0].attributes["rpc.status_code"] == "UNIMPLEMENTED"


def test_sync_unknown_method_is_observed_and_answered_like_grpc(env: h.Env) -> None:
    bare, bare_target = conf.start_sync_server([])
    ours, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        expected = _unknown_sync(bare_target, UNKNOWN)
        got = _unknown_sync(target, UNKNOWN)
        # Health/reflection stay unobserved even for methods that do not exist.
        _unknown_sync(target, "/grpc.health.v1.Health/List")
    finally:
        bare.stop(None)
        ours.stop(None)
    assert (got.code(), got.details()) == (expected.code(), expected.details())
    assert got.code() is grpc.StatusCode.UNIMPLEMENTED
    _assert_unknown_observed(env)


def test_aio_unknown_method_is_observed_and_answered_like_grpc(env: h.Env) -> None:
    async def main() -> tuple[Any, Any]:
        bare, bare_target = await conf.start_aio_server([])
        ours, target = await conf.start_aio_server(env.obs.aio_server_interceptors())
        try:
            expected = await _unknown_aio(bare_target, UNKNOWN)
            got = await _unknown_aio(target, UNKNOWN)
            await _unknown_aio(target, "/grpc.health.v1.Health/List")
            return expected, got
        finally:
            await bare.stop(0.001)  # never 0: grpc.aio may segfault
            await ours.stop(0.001)  # never 0: grpc.aio may segfault

    expected, got = asyncio.run(main())
    assert (got.code(), got.details()) == (expected.code(), expected.details())
    assert got.code() is grpc.StatusCode.UNIMPLEMENTED
    h.wait_until(lambda: env.sample("grpc_server_handled_total", **OTHER,
                                    grpc_code="Unimplemented") == 1)
    _assert_unknown_observed(env)


class WritingServicer(conf.AioConformance):
    """Streams with context.write()/context.read() instead of yield/iteration."""

    async def ServerStream(self, request: Any, context: Any) -> None:  # type: ignore[override]
        for i in range(request.count):
            await context.write(pb.ConformanceResponse(payload=request.payload, index=i))

    async def Bidi(self, request_iterator: Any, context: Any) -> None:  # type: ignore[override]
        i = 0
        while True:
            request = await context.read()
            if request is aio.EOF:
                return
            await context.write(pb.ConformanceResponse(payload=request.payload, index=i))
            i += 1

    async def ClientStream(self, request_iterator: Any, context: Any) -> Any:  # type: ignore[override]
        n = 0
        while (await context.read()) is not aio.EOF:
            n += 1
        return pb.ConformanceResponse(index=n)


def test_aio_write_and_read_messages_are_counted(env: h.Env) -> None:
    async def main() -> tuple[int, int, int]:
        server, target = await conf.start_aio_server(env.obs.aio_server_interceptors(),
                                                     WritingServicer())
        try:
            stub, channel = h.aio_stub(env, target)
            async with channel:
                streamed = [r async for r in stub.ServerStream(pb.ConformanceRequest(count=4))]
                bidi = [r async for r in stub.Bidi(iter([pb.ConformanceRequest()] * 3))]
                reply = await stub.ClientStream(iter([pb.ConformanceRequest()] * 5))
            return len(streamed), len(bidi), reply.index
        finally:
            await server.stop(0.001)  # never 0: grpc.aio may segfault

    assert asyncio.run(main()) == (4, 3, 5)

    def labels(kind: str, method: str) -> dict[str, str]:
        return {"grpc_type": kind, "grpc_service": conf.SERVICE, "grpc_method": method}

    h.wait_until(lambda: env.sample("grpc_server_handled_total", **labels(
        "client_stream", "ClientStream"), grpc_code="OK") == 1)
    assert env.sample("grpc_server_msg_sent_total", **labels("server_stream", "ServerStream")) == 4
    assert env.sample("grpc_server_msg_received_total", **labels("bidi_stream", "Bidi")) == 3
    assert env.sample("grpc_server_msg_sent_total", **labels("bidi_stream", "Bidi")) == 3
    assert env.sample("grpc_server_msg_received_total",
                      **labels("client_stream", "ClientStream")) == 5


def test_rpc_span_exports_what_an_sdk_span_would() -> None:
    """Same recorded content through the same processor: lean span vs Tracer.start_span."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    factory = RpcSpanFactory(tracer)
    attrs = {"rpc.system.name": "grpc", "rpc.method": "a.B/C", "network.peer.port": 5}

    def exercise(span: Any) -> None:
        span.set_attribute("app.key", "v")
        span.set_attributes({"app.n": 3, "bad": object()})  # invalid value dropped by both
        span.add_event("step", {"i": 1})
        try:
            raise ValueError("boom")
        except ValueError as exc:
            span.record_exception(exc)
        span.set_status(StatusCode.ERROR, "failed")
        span.update_name("a.B/D")
        span.end()
        span.set_attribute("after.end", 1)  # ignored by both

    with tracer.start_as_current_span("parent") as parent:
        exercise(tracer.start_span("a.B/C", kind=SpanKind.SERVER, attributes=dict(attrs)))
        exercise(factory.start("a.B/C", SpanKind.SERVER, None, dict(attrs)))
    sdk, lean = [s for s in exporter.get_finished_spans() if s.name == "a.B/D"]
    assert lean.parent.span_id == parent.get_span_context().span_id == sdk.parent.span_id
    assert lean.context.trace_id == sdk.context.trace_id
    assert lean.context.trace_flags == sdk.context.trace_flags
    assert dict(lean.attributes) == dict(sdk.attributes)
    assert [(e.name, dict(e.attributes)) for e in lean.events if e.name == "step"] == [
        ("step", {"i": 1})]
    lean_exc = next(e for e in lean.events if e.name == "exception").attributes
    sdk_exc = next(e for e in sdk.events if e.name == "exception").attributes
    assert lean_exc["exception.type"] == sdk_exc["exception.type"] == "ValueError"
    assert lean_exc["exception.message"] == "boom"
    assert (lean.status.status_code, lean.status.description) == (StatusCode.ERROR, "failed")
    assert lean.kind is SpanKind.SERVER and lean.resource is sdk.resource
    assert lean.instrumentation_scope == sdk.instrumentation_scope
    assert lean.end_time >= lean.start_time
    provider.shutdown()


def test_rpc_span_honours_the_sampler() -> None:
    from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased, TraceIdRatioBased

    for sampler, exported in ((ALWAYS_OFF, 0), (ParentBased(TraceIdRatioBased(1.0)), 1)):
        exporter = InMemorySpanExporter()  # a provider's shutdown stops its exporters
        tracing.configure("svc", exporters=[exporter], processor="simple", sampler=sampler)
        try:
            factory = tracing.rpc_span_factory()
            assert factory is not None
            span = factory.start("a.B/C", SpanKind.SERVER, None, {})
            assert span.get_span_context().is_valid
            span.end()
        finally:
            tracing.shutdown()
        assert len(exporter.get_finished_spans()) == exported


@pytest.mark.parametrize("value", [0.0, 0.005, 0.0050001, 0.3, 10.0, 11.0, 1e9])
def test_fast_histogram_matches_public_observe(value: float) -> None:
    registry = CollectorRegistry()
    family = Histogram("h_seconds", "h", ["m"], registry=registry)
    public, fast = family.labels("public"), family.labels("fast")
    public.observe(value, {"trace_id": "abc"})
    FastHistogram(fast).observe(value, "abc")

    def samples(child: str) -> list[tuple[str, dict[str, str], float, Any]]:
        out = []
        for metric in registry.collect():
            for s in metric.samples:
                if s.labels.get("m") == child:
                    labels = {k: v for k, v in s.labels.items() if k != "m"}
                    ex = (s.exemplar.labels, s.exemplar.value) if s.exemplar else None
                    out.append((s.name, labels, s.value, ex))
        return out

    assert samples("fast") == samples("public")


def test_fast_propagation_matches_the_composite_propagators() -> None:
    from opentelemetry import baggage, trace
    from opentelemetry import context as otel_context
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags, TraceState

    span = NonRecordingSpan(SpanContext(
        0x80F198EE56343BA864FE8B2A57D3EFF7, 0xE457B5A2E4D86BD1, False, TraceFlags(1),
        TraceState([("vendor", "x")])))
    token = otel_context.attach(baggage.set_baggage("tenant", "t1"))
    try:
        fast: dict[str, str] = {}
        tracing.inject_span(span, fast)
        slow: dict[str, str] = {}
        tracing.INJECTOR.inject(slow, context=trace.set_span_in_context(span))
    finally:
        otel_context.detach(token)
    assert fast == slow and set(fast) == {"traceparent", "tracestate", "baggage"}
    for carrier in (fast, {"traceparent": fast["traceparent"]},
                    {"b3": "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"}, {}):
        got = tracing.extract_rpc_parent(carrier)
        want = tracing.EXTRACTOR.extract(carrier)
        got_span = trace.get_current_span(got or otel_context.Context()).get_span_context()
        assert got_span == trace.get_current_span(want).get_span_context()
        assert baggage.get_all(got or otel_context.Context()) == baggage.get_all(want)


def test_aio_generated_correlation_id_is_echoed_only_when_not_sent(env: h.Env) -> None:
    async def main() -> tuple[Any, Any, Any]:
        server, target = await conf.start_aio_server(env.obs.aio_server_interceptors())
        try:
            async with aio.insecure_channel(target) as channel:
                stub = conf.pb_grpc.ConformanceServiceStub(channel)
                call = stub.Unary(pb.ConformanceRequest(), metadata=(("x-request-id", "r-1"),))
                response = await call
                plain = stub.Unary(pb.ConformanceRequest(),
                                   metadata=(("x-correlation-id", "mine"),))
                await plain
                echoed = dict(await call.initial_metadata())
                return response, echoed, dict(await plain.initial_metadata())
        finally:
            await server.stop(0.001)  # never 0: grpc.aio may segfault

    response, echoed, not_echoed = asyncio.run(main())
    assert echoed["x-correlation-id"] == response.correlation_id == "r-1"
    assert "x-correlation-id" not in not_echoed
