"""The client edge for `grpc.aio` channels, all four call shapes.

grpc.aio wants one interceptor object per call-shape interface: `aio_client_edge()` returns
the four, sharing one set of chains. Outcomes are read in the call's done callback (without
awaiting when grpc allows: libs/_compat.py); responses of streaming calls go through an
async generator that shows each to the chain (grpc.aio keeps `read()`, `code()` and
metadata working on the call object).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import grpc
from grpc import aio

from libs import _compat
from libs.call_details import aio_details
from libs.edge.call import CallState
from libs.edge.callmeta import RpcKind
from libs.edge.chain import Chain, details_str
from libs.edge.client_sync import ClientChains

OK = grpc.StatusCode.OK
_status_now = _compat.aio_call_status_now


class _Edge:
    kind: RpcKind

    def __init__(self, chains: ClientChains) -> None:
        self.chains = chains

    def _start(self, chain: Chain, details: Any) -> tuple[CallState, Any]:
        call = self.chains.start(chain, details)
        return call, aio_details(details, metadata=aio.Metadata(*call.outgoing),
                                 timeout=call.timeout)


def _on_done(chain: Chain, call: CallState, unary_response: bool) -> Callable[[Any], None]:
    def record(code: grpc.StatusCode, details: str | None) -> None:
        if unary_response and code is OK:
            chain.received(call, None)
        chain.end(call, code, None if code is OK else details_str(details))

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


async def _sent(chain: Chain, call: CallState, requests: Any) -> AsyncIterator[Any]:
    if hasattr(requests, "__aiter__"):
        async for request in requests:
            chain.sent(call, request)
            yield request
    else:
        for request in requests:
            chain.sent(call, request)
            yield request


async def _received(chain: Chain, call: CallState, grpc_call: Any) -> AsyncIterator[Any]:
    async for response in grpc_call:
        chain.received(call, response)
        yield response


class AioUnaryUnaryEdge(_Edge, aio.UnaryUnaryClientInterceptor):
    kind = RpcKind.UNARY

    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        chain = self.chains.chain(details.method, self.kind)
        if chain is None:
            return await continuation(details, request)
        call, details = self._start(chain, details)
        chain.sent(call, request)
        grpc_call = await continuation(details, request)
        grpc_call.add_done_callback(_on_done(chain, call, True))
        return grpc_call


class AioStreamUnaryEdge(_Edge, aio.StreamUnaryClientInterceptor):
    kind = RpcKind.CLIENT_STREAM

    async def intercept_stream_unary(self, continuation: Any, details: Any,
                                     request_iterator: Any) -> Any:
        chain = self.chains.chain(details.method, self.kind)
        if chain is None:
            return await continuation(details, request_iterator)
        call, details = self._start(chain, details)
        grpc_call = await continuation(details, _sent(chain, call, request_iterator))
        grpc_call.add_done_callback(_on_done(chain, call, True))
        return grpc_call


class AioUnaryStreamEdge(_Edge, aio.UnaryStreamClientInterceptor):
    kind = RpcKind.SERVER_STREAM

    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        chain = self.chains.chain(details.method, self.kind)
        if chain is None:
            return await continuation(details, request)
        call, details = self._start(chain, details)
        chain.sent(call, request)
        grpc_call = await continuation(details, request)
        grpc_call.add_done_callback(_on_done(chain, call, False))
        return _received(chain, call, grpc_call)


class AioStreamStreamEdge(_Edge, aio.StreamStreamClientInterceptor):
    kind = RpcKind.BIDI_STREAM

    async def intercept_stream_stream(self, continuation: Any, details: Any,
                                      request_iterator: Any) -> Any:
        chain = self.chains.chain(details.method, self.kind)
        if chain is None:
            return await continuation(details, request_iterator)
        call, details = self._start(chain, details)
        grpc_call = await continuation(details, _sent(chain, call, request_iterator))
        grpc_call.add_done_callback(_on_done(chain, call, False))
        return _received(chain, call, grpc_call)


def aio_client_edge(factories: Sequence[Any],
                    peer: tuple[str, int | None] = ("unknown", None)) -> list[Any]:
    """The four grpc.aio client interceptors of one chain (give all four to the channel)."""
    chains = ClientChains(factories, peer)
    return [cls(chains) for cls in (AioUnaryUnaryEdge, AioStreamUnaryEdge, AioUnaryStreamEdge,
                                    AioStreamStreamEdge)]
