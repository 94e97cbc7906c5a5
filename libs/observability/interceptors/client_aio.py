"""Client interceptors for `grpc.aio` channels, all four RPC kinds.

grpc.aio wants one interceptor object per kind interface; `aio_client_interceptors()` returns
the four. Outcomes are read in the call's done callback; responses of streaming calls go
through a counting async generator (grpc.aio keeps `read()`, `code()` and metadata working).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from grpc import aio

from libs import _compat
from libs.call_details import aio_details
from libs.edge.callmeta import RpcKind
from libs.observability.interceptors._common import details_str, outgoing_metadata
from libs.observability.pipeline import Pipeline
from libs.observability.reporter import CallState, MethodObserver
from libs.observability.spans import inject_for

OK = grpc.StatusCode.OK


class _Base:
    kind: RpcKind

    def __init__(self, pipeline: Pipeline, peer: tuple[str, int | None] = ("unknown", None)):
        self.pipeline = pipeline
        self.peer = peer

    def _observer(self, details: Any) -> MethodObserver | None:
        method = details.method
        if isinstance(method, bytes):
            method = method.decode()
        return self.pipeline.observer(method, self.kind)

    def _begin(self, obs: MethodObserver, details: Any) -> tuple[CallState, Any]:
        pairs, cid, uid = outgoing_metadata(details.metadata)
        call = obs.start(self.peer, {}, cid, uid)
        if call.span is not None:
            carrier: dict[str, str] = {}
            inject_for(call.span, carrier)
            pairs.extend(carrier.items())
        new = aio_details(details, metadata=aio.Metadata(*pairs))
        return call, new


# The final status of a finished aio call without awaiting; None if this grpc version hides
# it, then we await it in a task (private grpc internals: see libs/_compat.py).
_status_now = _compat.aio_call_status_now


def _on_done(obs: MethodObserver, call: CallState, unary_response: bool) -> Callable[[Any], None]:
    def record(code: grpc.StatusCode, details: str | None) -> None:
        if unary_response and code is OK:
            obs.received(call)
        obs.finish(call, code, None if code is OK else details_str(details))

    async def record_later(grpc_call: Any) -> None:
        try:
            code = await grpc_call.code()
            details = await grpc_call.details()
        except asyncio.CancelledError:
            code, details = grpc.StatusCode.CANCELLED, None
        record(code, details)

    def done(grpc_call: Any) -> None:
        status = _status_now(grpc_call)
        if status is None:
            asyncio.get_running_loop().create_task(record_later(grpc_call))
        else:
            record(*status)

    return done


async def _counting_sent(obs: MethodObserver, call: CallState, requests: Any) -> AsyncIterator[Any]:
    if hasattr(requests, "__aiter__"):
        async for request in requests:
            obs.sent(call)
            yield request
    else:
        for request in requests:
            obs.sent(call)
            yield request


async def _counting_received(obs: MethodObserver, call: CallState,
                             grpc_call: Any) -> AsyncIterator[Any]:
    async for response in grpc_call:
        obs.received(call)
        yield response


class AioUnaryUnary(_Base, aio.UnaryUnaryClientInterceptor):
    kind = RpcKind.UNARY

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        obs = self._observer(details)
        if obs is None:
            return await continuation(details, request)
        call, details = self._begin(obs, details)
        obs.sent(call)
        grpc_call = await continuation(details, request)
        grpc_call.add_done_callback(_on_done(obs, call, True))
        return grpc_call


class AioStreamUnary(_Base, aio.StreamUnaryClientInterceptor):
    kind = RpcKind.CLIENT_STREAM

    async def intercept_stream_unary(self, continuation: Any, details: Any,
                                     request_iterator: Any) -> Any:
        obs = self._observer(details)
        if obs is None:
            return await continuation(details, request_iterator)
        call, details = self._begin(obs, details)
        grpc_call = await continuation(details, _counting_sent(obs, call, request_iterator))
        grpc_call.add_done_callback(_on_done(obs, call, True))
        return grpc_call


class AioUnaryStream(_Base, aio.UnaryStreamClientInterceptor):
    kind = RpcKind.SERVER_STREAM

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        obs = self._observer(details)
        if obs is None:
            return await continuation(details, request)
        call, details = self._begin(obs, details)
        obs.sent(call)
        grpc_call = await continuation(details, request)
        grpc_call.add_done_callback(_on_done(obs, call, False))
        return _counting_received(obs, call, grpc_call)


class AioStreamStream(_Base, aio.StreamStreamClientInterceptor):
    kind = RpcKind.BIDI_STREAM

    async def intercept_stream_stream(self, continuation: Any, details: Any,
                                      request_iterator: Any) -> Any:
        obs = self._observer(details)
        if obs is None:
            return await continuation(details, request_iterator)
        call, details = self._begin(obs, details)
        grpc_call = await continuation(details, _counting_sent(obs, call, request_iterator))
        grpc_call.add_done_callback(_on_done(obs, call, False))
        return _counting_received(obs, call, grpc_call)


def aio_client_interceptors(pipeline: Pipeline,
                            peer: tuple[str, int | None] = ("unknown", None)) -> list[Any]:
    return [cls(pipeline, peer) for cls in (AioUnaryUnary, AioStreamUnary, AioUnaryStream,
                                            AioStreamStream)]
