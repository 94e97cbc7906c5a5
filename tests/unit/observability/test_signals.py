"""Unit tests of the pieces behind the interceptors: errors, correlation, logs, redaction,
tracing helpers, label guard, filters, exposition, hop correlation, pre-created series."""

from __future__ import annotations

import asyncio
import io
import json

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry, Counter

from libs.edge.callmeta import RpcKind, call_meta
from libs.observability import logging as obs_logging
from libs.observability import tracing
from libs.observability.correlation import (
    correlation_from_metadata,
    correlation_scope,
    get_correlation_id,
)
from libs.observability.filters import DEFAULT_FILTER
from libs.observability.metrics import LabelGuard, render
from libs.observability.redaction import Sensitive, redact
from libs.observability.testing import conformance as conf
from libs.status import errors
from tests.conformance import harness as h


@pytest.fixture
def env():
    e = h.make_env()
    yield e
    h.teardown_env()


def test_field_violations_round_trip_through_a_real_call(env: h.Env) -> None:
    class Servicer(conf.SyncConformance):
        def Unary(self, request, context):
            raise errors.InvalidArgument(
                "invalid CreateTask request",
                [errors.FieldViolation("steps[2].click_mouse.click_count", "must be 1..10")],
            )

    server, target = conf.start_sync_server(env.obs.server_interceptors(), Servicer())
    try:
        with grpc.insecure_channel(target) as channel:
            with pytest.raises(grpc.RpcError) as info:
                pb_grpc.ConformanceServiceStub(channel).Unary(pb.ConformanceRequest())
    finally:
        server.stop(None)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details() == "invalid CreateTask request"
    assert errors.field_violations(info.value) == [
        errors.FieldViolation("steps[2].click_mouse.click_count", "must be 1..10")
    ]


def test_generated_correlation_id_is_echoed_in_initial_metadata(env: h.Env) -> None:
    server, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        with grpc.insecure_channel(target) as channel:
            response, call = pb_grpc.ConformanceServiceStub(channel).Unary.with_call(
                pb.ConformanceRequest(), metadata=[("x-request-id", "req-77")]
            )
            _, call2 = pb_grpc.ConformanceServiceStub(channel).Unary.with_call(
                pb.ConformanceRequest()
            )
    finally:
        server.stop(None)
    assert dict(call.initial_metadata())["x-correlation-id"] == "req-77"
    assert response.correlation_id == "req-77"
    generated = dict(call2.initial_metadata())["x-correlation-id"]
    assert len(generated) == 36 and generated != "req-77"
    lines = [x for x in env.logs() if x["message"] == "finished call"]
    assert {x["correlationId"] for x in lines} == {"req-77", generated}


def test_correlation_precedence_and_scope() -> None:
    assert correlation_from_metadata({"x-correlation-id": "a", "x-request-id": "b"}) == "a"
    assert correlation_from_metadata({"x-request-id": "b"}) == "b"
    assert len(correlation_from_metadata({"x-correlation-id": "bad\nid"})) == 36
    assert get_correlation_id() is None
    with correlation_scope("task-cid", user_id="u1") as cid:
        assert cid == get_correlation_id() == "task-cid"
    assert get_correlation_id() is None


def test_hop_keeps_one_correlation_id_and_one_trace(env: h.Env) -> None:
    """client -> aio server A -> (client interceptor) -> sync server B."""
    server_b, target_b = conf.start_sync_server(env.obs.server_interceptors())

    async def main() -> pb.ConformanceResponse:
        servicer = conf.AioConformance(
            lambda t: grpc.aio.insecure_channel(t, interceptors=env.obs.aio_client_interceptors(t))
        )
        server_a, target_a = await conf.start_aio_server(env.obs.aio_server_interceptors(),
                                                         servicer)
        try:
            stub, channel = h.aio_stub(env, target_a)
            async with channel:
                with correlation_scope("hop-cid"):
                    return await stub.Unary(pb.ConformanceRequest(
                        behavior=pb.BEHAVIOR_CALL_NEXT, next_target=target_b))
        finally:
            await server_a.stop(0.001)  # never 0: grpc.aio may segfault

    try:
        response = asyncio.run(main())
    finally:
        server_b.stop(None)
    assert response.correlation_id == "hop-cid" and response.next_correlation_id == "hop-cid"
    h.wait_until(lambda: len([x for x in env.logs() if x["message"] == "finished call"]) == 4)
    lines = [x for x in env.logs() if x["message"] == "finished call"]
    assert sorted(x["grpc.component"] for x in lines) == ["client", "client", "server", "server"]
    assert {x["correlationId"] for x in lines} == {"hop-cid"}
    assert len({x["trace_id"] for x in lines}) == 1
    spans = env.spans.get_finished_spans()
    assert len(spans) == 4 and len({s.context.trace_id for s in spans}) == 1


def test_exemplars_only_in_openmetrics(env: h.Env) -> None:
    server, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        stub, channel = h.sync_stub(env, target)
        with channel:
            stub.Unary(pb.ConformanceRequest())
    finally:
        server.stop(None)
    trace_id = format(env.spans.get_finished_spans()[0].context.trace_id, "032x")
    om, om_type = env.obs.render_metrics("application/openmetrics-text; version=1.0.0")
    text, text_type = env.obs.render_metrics("text/plain")
    assert om_type.startswith("application/openmetrics-text")
    assert text_type.startswith("text/plain")
    assert f'# {{trace_id="{trace_id}"}}' in om.decode()
    assert "trace_id" not in text.decode()


def test_precreated_series_exist_before_any_call(env: h.Env) -> None:
    text = env.obs.render_metrics(None)[0].decode()
    for method in ("Unary", "ClientStream", "ServerStream", "Bidi"):
        assert f'grpc_method="{method}"' in text
    handled = [line for line in text.splitlines()
               if line.startswith("grpc_server_handled_total{") and 'grpc_method="Unary"' in line]
    assert len(handled) == 17 and all(line.endswith(" 0.0") for line in handled)
    assert 'grpc_type="server_stream"' in text and 'grpc_code="Canceled"' in text


def test_unregistered_server_method_becomes_other(env: h.Env) -> None:
    meta = call_meta("/evil.Scanner/Probe", RpcKind.UNARY, is_client=False)
    assert env.obs.metrics.endpoint_for(meta) == "other"
    assert env.sample("bytebot_metric_label_overflow_total",
                      metric="bytebot_api_requests_total", label="endpoint") == 1


def test_health_and_reflection_are_not_observed() -> None:
    assert not DEFAULT_FILTER(call_meta("/grpc.health.v1.Health/Check", RpcKind.UNARY, False))
    assert not DEFAULT_FILTER(call_meta(
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        RpcKind.BIDI_STREAM, False))
    assert not DEFAULT_FILTER(call_meta(
        "/grpc.channelz.v1.Channelz/GetServers", RpcKind.UNARY, False))
    assert DEFAULT_FILTER(call_meta(f"/{conf.SERVICE}/Unary", RpcKind.UNARY, False))


def test_health_calls_leave_no_signal(env: h.Env) -> None:
    from grpc_health.v1 import health, health_pb2, health_pb2_grpc

    server, target = conf.start_sync_server(env.obs.server_interceptors())
    health_pb2_grpc.add_HealthServicer_to_server(health.HealthServicer(), server)
    try:
        with grpc.insecure_channel(target) as channel:
            stub = health_pb2_grpc.HealthStub(grpc.intercept_channel(
                channel, *env.obs.client_interceptors(target)))
            stub.Check(health_pb2.HealthCheckRequest(service=""))
    finally:
        server.stop(None)
    assert env.spans.get_finished_spans() == ()
    assert not [x for x in env.logs() if x["message"] == "finished call"]
    assert "grpc.health" not in env.obs.render_metrics(None)[0].decode()


def test_label_guard_caps_values_and_counts_overflow() -> None:
    registry = CollectorRegistry()
    guard = LabelGuard("bytebot_tasks_total", "user_id", max_values=2, registry=registry)
    assert [guard(v) for v in ("a", "b", "a", "c", "d")] == ["a", "b", "a", "other", "other"]
    assert registry.get_sample_value(
        "bytebot_metric_label_overflow_total",
        {"metric": "bytebot_tasks_total", "label": "user_id"}) == 2
    # A second guard on the same registry shares the overflow family.
    LabelGuard("x_total", "y", 1, registry)
    Counter("unrelated", "u", registry=registry)
    assert b"bytebot_metric_label_overflow_total" in render(registry, None)[0]


def test_log_lines_have_the_design_fields_and_redact_secrets() -> None:
    stream = io.StringIO()
    obs_logging.configure("svc", "1.0", "prod", "info", stream=stream)
    try:
        log = obs_logging.get_logger("unit")
        with correlation_scope("cid-1", user_id="u-9"), tracing.traced("op"):
            log.info("typed", text=Sensitive("my secret text"), password="p", api_key="k",
                     headers=[("authorization", "Bearer abc"), ("x-a", "b")],
                     note="sent Authorization: Bearer eyJhbGciOi.xyz")
            log.debug("hidden")
    finally:
        obs_logging.reset()
    lines = [json.loads(x) for x in stream.getvalue().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    for key in ("timestamp", "level", "message", "service", "version", "environment",
                "correlationId", "userId"):
        assert key in line
    assert line["timestamp"].endswith("Z") and "T" in line["timestamp"]
    assert (line["service"], line["version"], line["environment"]) == ("svc", "1.0", "prod")
    assert (line["correlationId"], line["userId"]) == ("cid-1", "u-9")
    raw = stream.getvalue()
    for secret in ("my secret text", '"p"', '"k"', "Bearer abc", "eyJhbGciOi"):
        assert secret not in raw
    assert line["headers"] == [["authorization", "[REDACTED]"], ["x-a", "b"]]
    assert redact({"token": "t", "nested": {"Cookie": "c"}}) == {
        "token": "[REDACTED]", "nested": {"Cookie": "[REDACTED]"}}


def test_log_files_and_stdlib_bridge(tmp_path) -> None:
    import logging

    stream = io.StringIO()
    obs_logging.configure("svc", log_dir=tmp_path, stream=stream)
    try:
        logging.getLogger("third.party").warning("careful %s", "now")
        obs_logging.get_logger().error("broken")
    finally:
        obs_logging.reset()
    app = [json.loads(x) for x in (tmp_path / "app.log").read_text().splitlines()]
    err = [json.loads(x) for x in (tmp_path / "error.log").read_text().splitlines()]
    assert [x["message"] for x in app] == ["careful now", "broken"]
    assert app[0]["level"] == "warn" and app[0]["logger"] == "third.party"
    assert [x["message"] for x in err] == ["broken"]


def test_traced_decorator_context_manager_and_propagation() -> None:
    exporter = InMemorySpanExporter()
    tracing.configure("svc", exporters=[exporter], processor="simple")
    try:
        @tracing.traced("task.process", attributes={"task.id": "t1"})
        async def process() -> dict[str, str]:
            with tracing.traced("step.execute", attributes={"step.index": 0}):
                return tracing.inject_context()

        carrier = asyncio.run(process())

        @tracing.traced("fails")
        def fails() -> None:
            raise ValueError("nope")

        with pytest.raises(ValueError):
            fails()
        parent = tracing.extract_context(carrier)
        with tracing.traced("worker", context=parent) as span:
            worker_trace = span.get_span_context().trace_id
        b3 = tracing.extract_context({"b3": "80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1"})
        b3_multi = tracing.extract_context({
            "X-B3-TraceId": "80f198ee56343ba864fe8b2a57d3eff7",
            "X-B3-SpanId": "e457b5a2e4d86bd1", "X-B3-Sampled": "1"})
    finally:
        tracing.shutdown()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert spans["step.execute"].parent.span_id == spans["task.process"].context.span_id
    assert spans["task.process"].attributes["task.id"] == "t1"
    assert spans["fails"].status.status_code is StatusCode.ERROR
    assert any(e.name == "exception" for e in spans["fails"].events)
    assert "traceparent" in carrier
    assert worker_trace == spans["task.process"].context.trace_id
    for ctx in (b3, b3_multi):
        assert trace.get_current_span(ctx).get_span_context().trace_id == int(
            "80f198ee56343ba864fe8b2a57d3eff7", 16)


def test_exporter_defaults_to_none_without_endpoint(monkeypatch) -> None:
    for var in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT",
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    assert tracing._exporters_from_env() == []
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "console")
    assert type(tracing._exporters_from_env()[0]).__name__ == "ConsoleSpanExporter"
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "zipkin")
    with pytest.raises(ValueError):
        tracing._exporters_from_env()


def test_eventloop_lag_gauge() -> None:
    from libs.observability.metrics import eventloop_lag_gauge, start_eventloop_lag_monitor

    registry = CollectorRegistry()
    gauge = eventloop_lag_gauge(registry)

    async def main() -> None:
        task = start_eventloop_lag_monitor(gauge, interval=0.02)
        await asyncio.sleep(0.03)
        import time

        time.sleep(0.1)  # block the loop: the next sample sees the lag
        await asyncio.sleep(0.05)
        task.cancel()

    asyncio.run(main())
    assert registry.get_sample_value("bytebot_eventloop_lag_seconds") is not None
