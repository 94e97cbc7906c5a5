"""The server edge (libs/edge): a new cross-cutting concern is one small class, and every
concern sees the same four events on all four call shapes, sync and aio.

`Tenants` below is such a concern, written as a user of the library would: it rejects calls
of a blocked tenant and records what it sees. It sits between observability (which must see
its rejections as the call's status) and a recorder (which must never see a rejected call).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from grpc import aio

from libs.edge import AioServerEdge, CallHook, CallState, HookFactory, ServerEdge
from libs.edge.callmeta import RpcKind
from libs.observability.testing import conformance as conf
from libs.status.errors import ResourceExhausted
from tests.conformance import harness as h

KINDS = ("unary", "client_stream", "server_stream", "bidi")
METHOD = {"unary": "Unary", "client_stream": "ClientStream",
          "server_stream": "ServerStream", "bidi": "Bidi"}


class Tenants(HookFactory):
    """A new concern: tenant quotas. One hook per method; `begin` may reject."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, Any]] = []
        self.lock = threading.Lock()

    def for_method(self, method: str, kind: RpcKind) -> CallHook:
        return _TenantHook(self, method.rsplit("/", 1)[-1])

    def record(self, method: str, event: str, value: Any = None) -> None:
        with self.lock:
            self.events.append((method, event, value))

    def seen(self, method: str) -> list[tuple[str, Any]]:
        return [(e, v) for m, e, v in self.events if m == method]


class _TenantHook(CallHook):
    def __init__(self, factory: Tenants, method: str) -> None:
        self.factory = factory
        self.method = method

    def begin(self, call: CallState, context: Any) -> None:
        self.factory.record(self.method, "begin", call.correlation_id is not None)
        if call.metadata.get("x-tenant") == "blocked":
            raise ResourceExhausted("tenant 'blocked' is over its quota")

    def received(self, call: CallState, message: Any) -> None:
        self.factory.record(self.method, "received", type(message).__name__)

    def sent(self, call: CallState, message: Any) -> None:
        self.factory.record(self.method, "sent", type(message).__name__)

    def end(self, call: CallState, code: grpc.StatusCode, details: str | None) -> None:
        self.factory.record(self.method, "end", code)


class _BrokenEnd(HookFactory):
    """A concern with a bug at `end`: the call's status must not change."""

    def for_method(self, method: str, kind: RpcKind) -> CallHook:
        class Broken(CallHook):
            def end(self, call: CallState, code: grpc.StatusCode, details: str | None) -> None:
                raise RuntimeError("bug in a hook")

        return Broken()


@pytest.fixture
def env():
    e = h.make_env()
    yield e
    h.teardown_env()


def _edges(env: h.Env, aio_server: bool) -> tuple[Any, Tenants, Tenants]:
    tenants, after = Tenants(), Tenants()
    edge_type = AioServerEdge if aio_server else ServerEdge
    return edge_type([*env.obs.server_hooks(), tenants, after]), tenants, after


def _expected_events(kind: str) -> list[tuple[str, Any]]:
    n_in = h.STREAM_REQUESTS if kind in ("client_stream", "bidi") else 1
    n_out = h.SERVER_STREAM_COUNT if kind == "server_stream" else (
        h.STREAM_REQUESTS if kind == "bidi" else 1)
    return ([("begin", True)] + [("received", "ConformanceRequest")] * n_in
            + [("sent", "ConformanceResponse")] * n_out + [("end", grpc.StatusCode.OK)])


def _assert_one_ok_call(seen: list[tuple[str, Any]], expected: list[tuple[str, Any]]) -> None:
    """Begin first, end last; bidi messages in and out may interleave."""
    assert seen[0] == expected[0] and seen[-1] == expected[-1]
    assert sorted(map(str, seen)) == sorted(map(str, expected))


def _handled(env: h.Env, kind: str, code: str) -> float:
    grpc_type = "bidi_stream" if kind == "bidi" else kind
    return env.sample("grpc_server_handled_total", grpc_type=grpc_type, grpc_service=conf.SERVICE,
                      grpc_method=METHOD[kind], grpc_code=code)


def _check(env: h.Env, tenants: Tenants, after: Tenants, kind: str,
           ok: h.Outcome, blocked: h.Outcome) -> None:
    method = METHOD[kind]
    assert ok.code is grpc.StatusCode.OK
    assert blocked.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "over its quota" in (blocked.details or "")
    expected = _expected_events(kind)
    n = len(expected)
    _assert_one_ok_call(tenants.seen(method)[:n], expected)
    assert tenants.seen(method)[n:] == [
        ("begin", True), ("end", grpc.StatusCode.RESOURCE_EXHAUSTED)]
    # the hook after the rejecting one never began the rejected call
    _assert_one_ok_call(after.seen(method), expected)
    # observability, before it in the chain, recorded the rejection as the call's status
    assert _handled(env, kind, "OK") == 1
    assert _handled(env, kind, "ResourceExhausted") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_concern_is_one_class_sync(env: h.Env, kind: str) -> None:
    edge, tenants, after = _edges(env, aio_server=False)
    server, target = conf.start_sync_server([edge])
    try:
        stub, channel = h.sync_stub(env, target)
        with channel:
            ok = h.sync_call(stub, kind, h.req(count=h.SERVER_STREAM_COUNT), metadata=())
            blocked = h.sync_call(stub, kind, h.req(), metadata=(("x-tenant", "blocked"),))
        assert h.wait_until(lambda: len(tenants.seen(METHOD[kind])) >= 2
                            and tenants.seen(METHOD[kind])[-1][0] == "end")
        _check(env, tenants, after, kind, ok, blocked)
    finally:
        server.stop(None)


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_concern_is_one_class_aio(env: h.Env, kind: str) -> None:
    edge, tenants, after = _edges(env, aio_server=True)

    async def run() -> tuple[h.Outcome, h.Outcome]:
        server, target = await conf.start_aio_server([edge])
        try:
            stub, channel = h.aio_stub(env, target)
            async with channel:
                ok = await h.aio_call(stub, kind, h.req(count=h.SERVER_STREAM_COUNT),
                                      metadata=())
                # A failing-looking request makes the harness send one message: grpc.aio
                # clients report "Internal error from Core" when they write to a call the
                # server already ended (a client quirk; the server's status is right).
                blocked = await h.aio_call(stub, kind, _NEVER_REACHED,
                                           metadata=(("x-tenant", "blocked"),))
            for _ in range(100):
                if tenants.seen(METHOD[kind])[-1][0] == "end":
                    break
                await asyncio.sleep(0.01)
            return ok, blocked
        finally:
            await server.stop(None)

    ok, blocked = asyncio.run(run())
    _check(env, tenants, after, kind, ok, blocked)


_NEVER_REACHED = h.req(pb.BEHAVIOR_ABORT, code=13, message="the servicer never runs")
CORRUPT = b"\xff\xff\xff\xff"  # not a protobuf message: a truncated varint field


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_requests_are_invalid_argument_sync(env: h.Env, kind: str) -> None:
    server, target = conf.start_sync_server(env.obs.server_interceptors())
    try:
        with grpc.insecure_channel(target) as channel:
            path = f"/{conf.SERVICE}/{METHOD[kind]}"
            with pytest.raises(grpc.RpcError) as info:
                if kind == "unary":
                    channel.unary_unary(path)(CORRUPT, timeout=10)
                elif kind == "client_stream":
                    channel.stream_unary(path)(iter([CORRUPT]), timeout=10)
                elif kind == "server_stream":
                    list(channel.unary_stream(path)(CORRUPT, timeout=10))
                else:
                    list(channel.stream_stream(path)(iter([CORRUPT]), timeout=10))
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert "not a valid protobuf message" in info.value.details()
        assert _handled(env, kind, "InvalidArgument") == 1
    finally:
        server.stop(None)


@pytest.mark.parametrize("kind", KINDS)
def test_corrupt_requests_are_invalid_argument_aio(env: h.Env, kind: str) -> None:
    async def run() -> aio.AioRpcError:
        server, target = await conf.start_aio_server(env.obs.aio_server_interceptors())
        try:
            async with aio.insecure_channel(target) as channel:
                path = f"/{conf.SERVICE}/{METHOD[kind]}"
                with pytest.raises(aio.AioRpcError) as info:
                    if kind == "unary":
                        await channel.unary_unary(path)(CORRUPT, timeout=10)
                    elif kind == "client_stream":
                        await channel.stream_unary(path)(iter([CORRUPT]), timeout=10)
                    elif kind == "server_stream":
                        async for _ in channel.unary_stream(path)(CORRUPT, timeout=10):
                            pass
                    else:
                        async for _ in channel.stream_stream(path)(iter([CORRUPT]),
                                                                   timeout=10):
                            pass
                return info.value
        finally:
            await server.stop(None)

    err = asyncio.run(run())
    assert err.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid protobuf message" in (err.details() or "")
    assert _handled(env, kind, "InvalidArgument") == 1


def test_a_hook_failing_at_the_end_changes_no_status(env: h.Env) -> None:
    edge = ServerEdge([*env.obs.server_hooks(), _BrokenEnd()])
    server, target = conf.start_sync_server([edge])
    try:
        stub, channel = h.sync_stub(env, target)
        with channel:
            outcome = h.sync_call(stub, "unary", h.req(), metadata=())
        assert outcome.code is grpc.StatusCode.OK
        assert _handled(env, "unary", "OK") == 1
        failures = [x for x in env.logs()
                    if x["message"] == "call hook failed at the end of a call"]
        assert len(failures) == 1 and "bug in a hook" in failures[0].get("exception", "")
    finally:
        server.stop(None)


def test_rejection_ends_only_the_hooks_that_began(env: h.Env) -> None:
    """The chain ends, in reverse order, exactly the hooks whose `begin` ran."""
    edge, tenants, after = _edges(env, aio_server=False)
    server, target = conf.start_sync_server([edge])
    try:
        stub, channel = h.sync_stub(env, target)
        with channel:
            outcome = h.sync_call(stub, "unary", pb.ConformanceRequest(),
                                  metadata=(("x-tenant", "blocked"),))
        assert outcome.code is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert tenants.seen("Unary") == [("begin", True),
                                         ("end", grpc.StatusCode.RESOURCE_EXHAUSTED)]
        assert after.seen("Unary") == []
        finished = [x for x in env.logs() if x["message"] == "finished call"
                    and x.get("grpc.component") == "server"]
        assert [x["grpc.code"] for x in finished] == ["ResourceExhausted"]
    finally:
        server.stop(None)
