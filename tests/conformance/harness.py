"""Runs conformance calls (sync or aio) and collects the three signals of each."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
from grpc import aio
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry

import libs.observability as observability
from libs.observability import logging as obs_logging
from libs.observability.testing import conformance as conf

SERVICE = conf.SERVICE


@dataclass
class Env:
    """A fresh observability stack with in-memory outputs."""

    obs: Any
    spans: InMemorySpanExporter
    log: io.StringIO
    registry: CollectorRegistry

    def logs(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines() if line]

    def sample(self, name: str, **labels: str) -> float:
        value = self.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value


def make_env(log_level: str = "debug", **kwargs: Any) -> Env:
    spans = InMemorySpanExporter()
    log = io.StringIO()
    registry = CollectorRegistry()
    obs = observability.setup(
        "conformance", "1.2.3", "test", log_level=log_level, registry=registry,
        log_stream=log, span_exporters=[spans], span_processor="simple", **kwargs,
    )
    obs.precreate([SERVICE])
    return Env(obs, spans, log, registry)


def teardown_env() -> None:
    observability.tracing.shutdown()
    obs_logging.reset()


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


@dataclass
class Outcome:
    """What the client observed."""

    code: grpc.StatusCode
    details: str | None
    initial_metadata: dict[str, Any] = field(default_factory=dict)
    responses: list[Any] = field(default_factory=list)


def req(behavior: int = pb.BEHAVIOR_OK, **kw: Any) -> pb.ConformanceRequest:
    return pb.ConformanceRequest(behavior=behavior, **kw)


# (kind, outcome) -> how to call. Requests of each case:
STREAM_REQUESTS = 3  # client stream / bidi send this many
SERVER_STREAM_COUNT = 3


def sync_call(stub: Any, kind: str, request: pb.ConformanceRequest, *, metadata: Any,
              timeout: float | None = None, cancel_after: float | None = None) -> Outcome:
    many = [request] + [pb.ConformanceRequest(payload=str(i)) for i in range(1, STREAM_REQUESTS)]
    try:
        if kind == "unary" or kind == "client_stream":
            method = stub.Unary if kind == "unary" else stub.ClientStream
            arg = request if kind == "unary" else iter(many)
            future = method.future(arg, metadata=metadata, timeout=timeout)
            if cancel_after is not None:
                time.sleep(cancel_after)
                future.cancel()
            response = future.result()
            return Outcome(grpc.StatusCode.OK, None, dict(future.initial_metadata()), [response])
        if kind == "server_stream":
            call = stub.ServerStream(request, metadata=metadata, timeout=timeout)
        else:
            call = stub.Bidi(_slow_iter(many, request), metadata=metadata, timeout=timeout)
        if cancel_after is not None:
            time.sleep(cancel_after)
            call.cancel()
        responses = list(call)
        return Outcome(call.code(), None, dict(call.initial_metadata()), responses)
    except grpc.FutureCancelledError:
        return Outcome(grpc.StatusCode.CANCELLED, None)
    except grpc.RpcError as err:
        return Outcome(err.code(), err.details(), dict(err.initial_metadata() or ()))


def _slow_iter(many: list[Any], first: pb.ConformanceRequest) -> Any:
    # A sleeping bidi call must keep its request stream open, as a real client would.
    yield from many[:1] if first.behavior == pb.BEHAVIOR_SLEEP else many


async def aio_call(stub: Any, kind: str, request: pb.ConformanceRequest, *, metadata: Any,
                   timeout: float | None = None, cancel_after: float | None = None) -> Outcome:
    many = [request] + [pb.ConformanceRequest(payload=str(i)) for i in range(1, STREAM_REQUESTS)]
    if kind == "unary":
        call = stub.Unary(request, metadata=metadata, timeout=timeout)
    elif kind == "client_stream":
        call = stub.ClientStream(iter(many), metadata=metadata, timeout=timeout)
    elif kind == "server_stream":
        call = stub.ServerStream(request, metadata=metadata, timeout=timeout)
    else:
        # A failing call sends only its first request: grpc.aio clients may report "Internal
        # error from Core" instead of the status when they write to a call that just ended.
        call = stub.Bidi(iter(many[:1] if request.behavior != pb.BEHAVIOR_OK else many),
                         metadata=metadata, timeout=timeout)
    canceller = None
    if cancel_after is not None:
        async def cancel() -> None:
            await asyncio.sleep(cancel_after)
            call.cancel()
        canceller = asyncio.ensure_future(cancel())
    responses: list[Any] = []
    try:
        if kind in ("unary", "client_stream"):
            responses.append(await call)
        else:
            async for r in call:
                responses.append(r)
        code = await call.code()
        details = None
    except asyncio.CancelledError:
        code, details = grpc.StatusCode.CANCELLED, None
    except aio.AioRpcError as err:
        code, details = err.code(), err.details()
    if canceller is not None:
        await canceller
    try:
        md = dict(await call.initial_metadata() or ())
    except Exception:
        md = {}
    return Outcome(code, details, md, responses)


def sync_stub(env: Env, target: str) -> tuple[Any, grpc.Channel]:
    channel = grpc.intercept_channel(
        grpc.insecure_channel(target), *env.obs.client_interceptors(target)
    )
    return pb_grpc.ConformanceServiceStub(channel), channel


def aio_stub(env: Env, target: str) -> tuple[Any, aio.Channel]:
    channel = aio.insecure_channel(target, interceptors=env.obs.aio_client_interceptors(target))
    return pb_grpc.ConformanceServiceStub(channel), channel
