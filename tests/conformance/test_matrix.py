"""The conformance matrix: {unary, client stream, server stream, bidi} x {sync, aio} x
{OK, RpcError abort, context abort, uncaught exception, client cancel, deadline exceeded}.

Each case asserts metrics, spans and logs of the server AND the client together.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from opentelemetry.trace import SpanKind, StatusCode

from libs.observability.testing import conformance as conf
from tests.conformance import harness as h

SC = grpc.StatusCode
KINDS = ["unary", "client_stream", "server_stream", "bidi_stream"]
METHOD = {"unary": "Unary", "client_stream": "ClientStream", "server_stream": "ServerStream",
          "bidi_stream": "Bidi"}


@dataclass(frozen=True)
class Case:
    name: str
    request: pb.ConformanceRequest
    code: grpc.StatusCode  # what the server records and the client gets
    server_span_error: bool
    server_level: str
    timeout: float | None = None
    cancel_after: float | None = None


CASES = [
    Case("ok", h.req(count=h.SERVER_STREAM_COUNT), SC.OK, False, "info"),
    Case("rpc_error", h.req(pb.BEHAVIOR_ABORT, code=5, message="task 7 not found"),
         SC.NOT_FOUND, False, "info"),
    Case("context_abort", h.req(pb.BEHAVIOR_CONTEXT_ABORT, code=14, message="db down"),
         SC.UNAVAILABLE, True, "warn"),
    Case("uncaught", h.req(pb.BEHAVIOR_RAISE), SC.INTERNAL, True, "error"),
    Case("cancel", h.req(pb.BEHAVIOR_SLEEP, sleep_ms=3000), SC.CANCELLED, False, "info",
         cancel_after=0.3),
    Case("deadline", h.req(pb.BEHAVIOR_SLEEP, sleep_ms=3000), SC.DEADLINE_EXCEEDED, True, "warn",
         timeout=0.3),
]
GO = {SC.OK: "OK", SC.NOT_FOUND: "NotFound", SC.UNAVAILABLE: "Unavailable",
      SC.INTERNAL: "Internal", SC.CANCELLED: "Canceled", SC.DEADLINE_EXCEEDED: "DeadlineExceeded"}
HTTP = {SC.OK: "200", SC.NOT_FOUND: "404", SC.UNAVAILABLE: "503", SC.INTERNAL: "500",
        SC.CANCELLED: "499", SC.DEADLINE_EXCEEDED: "504"}


@pytest.fixture
def env():
    e = h.make_env()
    yield e
    h.teardown_env()


def _run_sync(env: h.Env, kind: str, case: Case, cid: str) -> h.Outcome:
    server, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        stub, channel = h.sync_stub(env, target)
        with channel:
            return h.sync_call(stub, kind, case.request, metadata=[("x-correlation-id", cid)],
                               timeout=case.timeout, cancel_after=case.cancel_after)
    finally:
        _wait_server_finished(env, kind)
        server.stop(None)


def _run_aio(env: h.Env, kind: str, case: Case, cid: str) -> h.Outcome:
    async def main() -> h.Outcome:
        server, target = await conf.start_aio_server(env.obs.aio_server_interceptors())
        try:
            stub, channel = h.aio_stub(env, target)
            async with channel:
                out = await h.aio_call(stub, kind, case.request,
                                       metadata=(("x-correlation-id", cid),),
                                       timeout=case.timeout, cancel_after=case.cancel_after)
                for _ in range(500):  # the server records after the client saw the end
                    if _server_handled(env, kind) >= 1:
                        break
                    await asyncio.sleep(0.01)
                return out
        finally:
            await server.stop(0.001)  # never 0: grpc.aio may segfault

    return asyncio.run(main())


def _labels(kind: str) -> dict[str, str]:
    return {"grpc_type": kind, "grpc_service": conf.SERVICE, "grpc_method": METHOD[kind]}


def _server_handled(env: h.Env, kind: str) -> float:
    return sum(env.sample("grpc_server_handled_total", **_labels(kind), grpc_code=c)
               for c in GO.values())


def _wait_server_finished(env: h.Env, kind: str) -> None:
    h.wait_until(lambda: _server_handled(env, kind) >= 1)


@pytest.mark.parametrize("mode", ["sync", "aio"])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_conformance(env: h.Env, mode: str, kind: str, case: Case) -> None:
    cid = f"conf-{mode}-{kind}-{case.name}"
    run = _run_sync if mode == "sync" else _run_aio
    out = run(env, kind, case, cid)

    # --- what the client got ---------------------------------------------------------
    assert out.code == case.code, out
    if case.code is SC.INTERNAL:
        assert out.details == f"internal error; correlation id {cid}"
        assert conf.PlannedFailure.SECRET not in (out.details or "")
    if case.name == "rpc_error":
        assert out.details == "task 7 not found"
    if case.code is SC.OK:
        assert all(r.correlation_id == cid for r in out.responses)

    # --- server metrics --------------------------------------------------------------
    labels = _labels(kind)
    h.wait_until(lambda: env.sample("grpc_server_handled_total", **labels,
                                    grpc_code=GO[case.code]) == 1)
    assert env.sample("grpc_server_started_total", **labels) == 1
    assert env.sample("grpc_server_handled_total", **labels, grpc_code=GO[case.code]) == 1
    assert _server_handled(env, kind) == 1
    assert env.sample("grpc_server_handling_seconds_count", **labels) == 1
    assert env.sample(
        "bytebot_api_requests_total", method=kind, endpoint=f"/{conf.SERVICE}/{METHOD[kind]}",
        status_code=HTTP[case.code], grpc_code=GO[case.code],
    ) == 1
    assert env.sample("bytebot_websocket_connections_active",
                      endpoint=f"/{conf.SERVICE}/{METHOD[kind]}") == 0
    received = env.sample("grpc_server_msg_received_total", **labels)
    sent = env.sample("grpc_server_msg_sent_total", **labels)
    if case.code is SC.OK:
        expected_in = h.STREAM_REQUESTS if kind in ("client_stream", "bidi_stream") else 1
        expected_out = {"unary": 1, "client_stream": 1, "server_stream": h.SERVER_STREAM_COUNT,
                        "bidi_stream": h.STREAM_REQUESTS}[kind]
        assert (received, sent) == (expected_in, expected_out)
        assert len(out.responses) == expected_out
    else:
        assert received >= 1
        # A failing server stream first sends one response (the servicer's plan); a cancelled
        # or timed-out call sends none.
        fails_mid_stream = kind == "server_stream" and case.cancel_after is None and (
            case.timeout is None)
        assert sent == (1 if fails_mid_stream else 0)

    # --- server metrics, gRFC A66 names (same reporter, same call) ---------------------
    a66 = {"grpc_method": f"{conf.SERVICE}/{METHOD[kind]}"}
    status = {**a66, "grpc_status": case.code.name}  # A66 spelling: "OK", "NOT_FOUND", …
    assert _a66(env, "grpc_server_call_started_total", **a66) == 1
    assert _a66(env, "grpc_server_call_duration_seconds_count", **status) == 1
    assert _a66(env, "grpc_server_call_duration_seconds_count", **a66) == 1  # no other status
    assert 0 < _a66(env, "grpc_server_call_duration_seconds_sum", **status) < 30
    rcvd = "grpc_server_call_rcvd_total_compressed_message_size_bytes"
    sent_size = "grpc_server_call_sent_total_compressed_message_size_bytes"
    assert _a66(env, f"{rcvd}_count", **status) == 1
    assert _a66(env, f"{sent_size}_count", **status) == 1
    if case.code is SC.OK:  # serialized sizes of exactly what went over the wire
        many = h.STREAM_REQUESTS if kind in ("client_stream", "bidi_stream") else 1
        requests = [case.request] + [pb.ConformanceRequest(payload=str(i)) for i in range(1, many)]
        assert _a66(env, f"{rcvd}_sum", **status) == sum(r.ByteSize() for r in requests)
        assert _a66(env, f"{sent_size}_sum", **status) == sum(
            r.ByteSize() for r in out.responses)
    else:
        assert _a66(env, f"{rcvd}_sum", **status) >= case.request.ByteSize() > 0
        assert (_a66(env, f"{sent_size}_sum", **status) > 0) == (sent > 0)

    # --- client metrics --------------------------------------------------------------
    h.wait_until(lambda: env.sample("grpc_client_handled_total", **labels,
                                    grpc_code=GO[case.code]) == 1)
    assert env.sample("grpc_client_started_total", **labels) == 1
    assert env.sample("grpc_client_handled_total", **labels, grpc_code=GO[case.code]) == 1
    if case.code is SC.OK:
        assert env.sample("grpc_client_msg_received_total", **labels) == len(out.responses)
    (target,) = _label_values(env, "grpc_client_attempt_started_total", "grpc_target")
    assert target.startswith("127.0.0.1:")  # the channel's host:port
    client = {**a66, "grpc_target": target}
    assert _a66(env, "grpc_client_attempt_started_total", **client) == 1
    for name in ("grpc_client_attempt_duration_seconds", "grpc_client_call_duration_seconds"):
        h.wait_until(lambda n=name: _a66(env, f"{n}_count", **client,
                                         grpc_status=case.code.name) == 1)
        assert _a66(env, f"{name}_count", **client, grpc_status=case.code.name) == 1
        assert _a66(env, f"{name}_count", **client) == 1

    # --- spans -----------------------------------------------------------------------
    name = f"{conf.SERVICE}/{METHOD[kind]}"
    h.wait_until(lambda: len([s for s in env.spans.get_finished_spans() if s.name == name]) == 2)
    spans = {s.kind: s for s in env.spans.get_finished_spans() if s.name == name}
    server_span, client_span = spans[SpanKind.SERVER], spans[SpanKind.CLIENT]
    assert server_span.parent is not None
    assert server_span.parent.span_id == client_span.context.span_id
    assert server_span.context.trace_id == client_span.context.trace_id
    attrs = server_span.attributes
    assert attrs["rpc.system.name"] == "grpc" and attrs["rpc.system"] == "grpc"
    assert attrs["rpc.method"] == name and attrs["rpc.service"] == conf.SERVICE
    assert attrs["rpc.status_code"] == case.code.name
    assert attrs["rpc.grpc.status_code"] == case.code.value[0]
    assert attrs["network.peer.address"] == "127.0.0.1"
    assert client_span.attributes["server.address"] == "127.0.0.1"
    assert client_span.attributes["rpc.status_code"] == case.code.name
    want_server = StatusCode.ERROR if case.server_span_error else StatusCode.UNSET
    assert server_span.status.status_code == want_server
    want_client = StatusCode.UNSET if case.code is SC.OK else StatusCode.ERROR
    assert client_span.status.status_code == want_client
    if case.code is SC.INTERNAL:
        assert any(e.name == "exception" for e in server_span.events)

    # --- logs ------------------------------------------------------------------------
    trace_id = format(server_span.context.trace_id, "032x")
    h.wait_until(lambda: len(_finished(env, kind)) == 2)
    finished = {line["grpc.component"]: line for line in _finished(env, kind)}
    server_line, client_line = finished["server"], finished["client"]
    assert server_line["grpc.code"] == GO[case.code]
    assert server_line["level"] == case.server_level
    assert server_line["correlationId"] == cid
    assert server_line["trace_id"] == trace_id
    assert server_line["grpc.method_type"] == kind
    assert server_line["peer.address"] == "127.0.0.1"
    assert server_line["service"] == "conformance" and server_line["version"] == "1.2.3"
    assert isinstance(server_line["grpc.time_ms"], float)
    assert client_line["grpc.code"] == GO[case.code]
    assert client_line["correlationId"] == cid
    assert client_line["trace_id"] == trace_id
    if case.code is SC.INTERNAL:
        errors = [x for x in env.logs() if x["message"] == "uncaught exception in handler"]
        assert len(errors) == 1 and errors[0]["level"] == "error"
        assert "PlannedFailure" in errors[0]["exception"]
        assert errors[0]["correlationId"] == cid


def _a66(env: h.Env, name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels` (A66 families carry
    grpc_target values the test learns at run time)."""
    return sum(
        s.value
        for family in env.registry.collect()
        for s in family.samples
        if s.name == name and labels.items() <= s.labels.items()
    )


def _label_values(env: h.Env, name: str, label: str) -> set[str]:
    return {s.labels[label] for family in env.registry.collect() for s in family.samples
            if s.name == name}


def _finished(env: h.Env, kind: str) -> list[dict]:
    return [x for x in env.logs()
            if x["message"] == "finished call" and x["grpc.method_type"] == kind]
