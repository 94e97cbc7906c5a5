"""Mesh tracing across a hop (issue 15 item 5): a call enters service A with B3 headers (as a
Zipkin-style mesh sends them), A calls service B, and B receives the same trace both as W3C
`traceparent` and as B3 in the format the mesh used; OTEL_PROPAGATORS adds B3 to every call."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc

from libs.observability.testing import conformance as conf
from tests.conformance import harness as h

TRACE = "80f198ee56343ba864fe8b2a57d3eff7"
MESH_SPAN = "e457b5a2e4d86bd1"
INBOUND = {
    "b3-single": [("b3", f"{TRACE}-{MESH_SPAN}-1")],
    "b3-multi": [("x-b3-traceid", TRACE), ("x-b3-spanid", MESH_SPAN), ("x-b3-sampled", "1")],
    "w3c": [("traceparent", f"00-{TRACE}-{MESH_SPAN}-01")],
}


class RecordingB(conf.SyncConformance):
    """Service B: keeps the metadata each call arrived with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, str]] = []

    def Unary(self, request: Any, context: Any) -> Any:
        self.seen.append({k: v for k, v in context.invocation_metadata()})
        return super().Unary(request, context)


def hop(env: h.Env, inbound: str, a_kind: str) -> dict[str, str]:
    """mesh (plain channel, B3/W3C headers) -> A (observed, aio or sync) -> B; B's metadata."""
    b = RecordingB()
    server_b, target_b = conf.start_sync_server((), b)
    request = pb.ConformanceRequest(behavior=pb.BEHAVIOR_CALL_NEXT, next_target=target_b)
    try:
        if a_kind == "sync":
            servicer = conf.SyncConformance(
                lambda t: grpc.intercept_channel(
                    grpc.insecure_channel(t), *env.obs.client_interceptors(t))
            )
            server_a, target_a = conf.start_sync_server(env.obs.server_interceptors(), servicer)
            try:
                with grpc.insecure_channel(target_a) as channel:
                    pb_grpc.ConformanceServiceStub(channel).Unary(
                        request, metadata=INBOUND[inbound], timeout=10)
            finally:
                server_a.stop(None)
        else:
            async def main() -> None:
                servicer = conf.AioConformance(
                    lambda t: grpc.aio.insecure_channel(
                        t, interceptors=env.obs.aio_client_interceptors(t))
                )
                server_a, target_a = await conf.start_aio_server(
                    env.obs.aio_server_interceptors(), servicer)
                try:
                    async with grpc.aio.insecure_channel(target_a) as channel:
                        await pb_grpc.ConformanceServiceStub(channel).Unary(
                            request, metadata=INBOUND[inbound], timeout=10)
                finally:
                    await server_a.stop(0.001)  # never 0: grpc.aio may segfault

            asyncio.run(main())
    finally:
        server_b.stop(None)
    assert len(b.seen) == 1
    return b.seen[0]


@pytest.fixture
def env():
    e = h.make_env()
    yield e
    h.teardown_env()


def a_client_span(env: h.Env) -> str:
    """Span id of A's client span (the parent B must be told about)."""
    client = [s for s in env.spans.get_finished_spans() if s.kind.name == "CLIENT"]
    assert len(client) == 1 and format(client[0].context.trace_id, "032x") == TRACE
    return format(client[0].context.span_id, "016x")


@pytest.mark.parametrize("a_kind", ["aio", "sync"])
def test_b3_single_in_b3_single_and_w3c_out(env: h.Env, a_kind: str) -> None:
    md = hop(env, "b3-single", a_kind)
    span = a_client_span(env)
    assert md["traceparent"] == f"00-{TRACE}-{span}-01"
    assert md["b3"] == f"{TRACE}-{span}-1"
    assert "x-b3-traceid" not in md


@pytest.mark.parametrize("a_kind", ["aio", "sync"])
def test_b3_multi_in_b3_multi_and_w3c_out(env: h.Env, a_kind: str) -> None:
    md = hop(env, "b3-multi", a_kind)
    span = a_client_span(env)
    assert md["traceparent"] == f"00-{TRACE}-{span}-01"
    assert (md["x-b3-traceid"], md["x-b3-spanid"], md["x-b3-sampled"]) == (TRACE, span, "1")
    assert "b3" not in md


def test_w3c_in_w3c_only_out(env: h.Env) -> None:
    md = hop(env, "w3c", "aio")
    span = a_client_span(env)
    assert md["traceparent"] == f"00-{TRACE}-{span}-01"
    assert not {"b3", "x-b3-traceid", "x-b3-spanid"} & set(md)


def test_otel_propagators_adds_b3_to_every_call(monkeypatch) -> None:
    monkeypatch.setenv("OTEL_PROPAGATORS", "tracecontext,baggage,b3multi")
    env = h.make_env()
    try:
        md = hop(env, "w3c", "sync")
        span = a_client_span(env)
    finally:
        h.teardown_env()
    assert md["traceparent"] == f"00-{TRACE}-{span}-01"
    assert (md["x-b3-traceid"], md["x-b3-spanid"]) == (TRACE, span)
