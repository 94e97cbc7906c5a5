"""The conformance service of `protos/bytebot/testing/v1/conformance.proto`, sync and aio.

Each request picks what the handler does (OK, raise an RpcError, raise an uncaught exception,
context.abort, sleep, call the next hop), so one harness can run every RPC kind through every
outcome. Servers bind 127.0.0.1 port 0. Shipped with the library, like grpc-interceptor's
dummy service, so services' own tests can reuse it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
from grpc import aio

from libs.observability.codes import BY_NUMBER
from libs.observability.correlation import get_correlation_id
from libs.observability.tracing import trace_ids
from libs.status import errors

SERVICE = "bytebot.testing.v1.ConformanceService"
Behavior = pb.Behavior


class PlannedFailure(ValueError):
    """The uncaught exception of BEHAVIOR_RAISE; its text must never reach a client."""

    SECRET = "internal detail: row 42 of /srv/internal/state.db"


def _response(request: pb.ConformanceRequest, index: int, next_cid: str = "") -> Any:
    ids = trace_ids()
    return pb.ConformanceResponse(
        payload=request.payload,
        correlation_id=get_correlation_id() or "",
        trace_id=ids[0] if ids else "",
        index=index,
        next_correlation_id=next_cid,
    )


def _fail_now(request: pb.ConformanceRequest) -> None:
    if request.behavior == Behavior.BEHAVIOR_ABORT:
        raise errors.RpcError(request.message, code=BY_NUMBER[request.code])
    if request.behavior == Behavior.BEHAVIOR_RAISE:
        raise PlannedFailure(PlannedFailure.SECRET)


def _fails(request: pb.ConformanceRequest) -> bool:
    return request.behavior in (
        Behavior.BEHAVIOR_ABORT, Behavior.BEHAVIOR_RAISE, Behavior.BEHAVIOR_CONTEXT_ABORT
    )


class SyncConformance(pb_grpc.ConformanceServiceServicer):
    """Thread-pool servicer; `channel_factory(target)` builds channels for the next hop."""

    def __init__(self, channel_factory: Callable[[str], grpc.Channel] | None = None) -> None:
        self.channel_factory = channel_factory or grpc.insecure_channel

    def _act(self, request: pb.ConformanceRequest, context: Any) -> str:
        if request.behavior == Behavior.BEHAVIOR_CONTEXT_ABORT:
            context.abort(BY_NUMBER[request.code], request.message)
        _fail_now(request)
        if request.behavior == Behavior.BEHAVIOR_SLEEP:
            end = time.monotonic() + request.sleep_ms / 1000
            while context.is_active() and time.monotonic() < end:
                time.sleep(0.005)
        if request.behavior == Behavior.BEHAVIOR_CALL_NEXT:
            with self.channel_factory(request.next_target) as channel:
                reply = pb_grpc.ConformanceServiceStub(channel).Unary(
                    pb.ConformanceRequest(payload="hop"), timeout=10
                )
            return reply.correlation_id
        return ""

    def Unary(self, request: Any, context: Any) -> Any:
        return _response(request, 1, self._act(request, context))

    def ClientStream(self, request_iterator: Iterator[Any], context: Any) -> Any:
        first, n = None, 0
        for request in request_iterator:
            first = first or request
            n += 1
        first = first or pb.ConformanceRequest()
        return _response(first, n, self._act(first, context))

    def ServerStream(self, request: Any, context: Any) -> Iterator[Any]:
        count = request.count or 1
        if _fails(request):
            for i in range(count):
                yield _response(request, i)
        next_cid = self._act(request, context)
        if not _fails(request):
            for i in range(count):
                yield _response(request, i, next_cid)

    def Bidi(self, request_iterator: Iterator[Any], context: Any) -> Iterator[Any]:
        for i, request in enumerate(request_iterator):
            if i == 0 or _fails(request):
                next_cid = self._act(request, context)
            yield _response(request, i, next_cid)


class AioConformance(pb_grpc.ConformanceServiceServicer):
    """grpc.aio servicer (async handlers and async-generator streams)."""

    def __init__(self, channel_factory: Callable[[str], aio.Channel] | None = None) -> None:
        self.channel_factory = channel_factory or aio.insecure_channel

    async def _act(self, request: pb.ConformanceRequest, context: Any) -> str:
        if request.behavior == Behavior.BEHAVIOR_CONTEXT_ABORT:
            await context.abort(BY_NUMBER[request.code], request.message)
        _fail_now(request)
        if request.behavior == Behavior.BEHAVIOR_SLEEP:
            await asyncio.sleep(request.sleep_ms / 1000)
        if request.behavior == Behavior.BEHAVIOR_CALL_NEXT:
            async with self.channel_factory(request.next_target) as channel:
                reply = await pb_grpc.ConformanceServiceStub(channel).Unary(
                    pb.ConformanceRequest(payload="hop"), timeout=10
                )
            return reply.correlation_id
        return ""

    async def Unary(self, request: Any, context: Any) -> Any:
        return _response(request, 1, await self._act(request, context))

    async def ClientStream(self, request_iterator: AsyncIterator[Any], context: Any) -> Any:
        first, n = None, 0
        async for request in request_iterator:
            first = first or request
            n += 1
        first = first or pb.ConformanceRequest()
        return _response(first, n, await self._act(first, context))

    async def ServerStream(self, request: Any, context: Any) -> AsyncIterator[Any]:
        count = request.count or 1
        if _fails(request):
            for i in range(count):
                yield _response(request, i)
        next_cid = await self._act(request, context)
        if not _fails(request):
            for i in range(count):
                yield _response(request, i, next_cid)

    async def Bidi(self, request_iterator: AsyncIterator[Any], context: Any) -> AsyncIterator[Any]:
        i = 0
        next_cid = ""
        async for request in request_iterator:
            if i == 0 or _fails(request):
                next_cid = await self._act(request, context)
            yield _response(request, i, next_cid)
            i += 1


def start_sync_server(
    interceptors: list[Any], servicer: SyncConformance | None = None, max_workers: int = 8
) -> tuple[grpc.Server, str]:
    """A started thread-pool server on 127.0.0.1:0; returns (server, "127.0.0.1:port")."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers), interceptors=interceptors)
    pb_grpc.add_ConformanceServiceServicer_to_server(servicer or SyncConformance(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    return server, f"127.0.0.1:{port}"


async def start_aio_server(
    interceptors: list[Any], servicer: AioConformance | None = None
) -> tuple[aio.Server, str]:
    """A started grpc.aio server on 127.0.0.1:0; returns (server, "127.0.0.1:port")."""
    server = aio.server(interceptors=interceptors)
    pb_grpc.add_ConformanceServiceServicer_to_server(servicer or AioConformance(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    return server, f"127.0.0.1:{port}"
