"""The server edge for `grpc.aio.server`, all four call shapes.

grpc.aio runs every call in a task of its own, so what hooks bind at `begin` stays with the
call. Client cancellation and deadlines cancel the task: the CancelledError ends the chain
(CANCELLED / DEADLINE_EXCEEDED) and is re-raised. A response-streaming handler may be an
async generator (iterated by grpc after we return) or a coroutine writing with
`context.write`; a handler may read with `context.read()`; all of them are seen.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from libs.edge.call import CallState
from libs.edge.chain import Chain, details_str, terminated_code
from libs.edge.server_handlers import NOT_FOUND, HandlerWrapping, new_call
from libs.status.errors import RpcError

OK = grpc.StatusCode.OK


async def _send_headers(call: CallState, context: Any) -> None:
    # grpc.aio cannot attach initial metadata to the first message: the headers are a batch
    # of their own, which only calls whose hooks ask for them pay (e.g. the correlation id
    # echo, only for callers that did not send one: bench/interceptor_overhead.py).
    if call.headers:
        await context.send_initial_metadata(call.headers)


async def _start(chain: Chain, context: Any) -> CallState:
    """A new call through every hook's `begin`; a rejection aborts it (always raises)."""
    call = new_call(context)
    rejection = chain.begin(call, context)
    if rejection is not None:
        chain.end(call, rejection.code, rejection.message)
        status = rejection.to_status()
        await context.abort(status.code, status.details, status.trailing_metadata)
    await _send_headers(call, context)
    return call


class _EdgeContext:
    """The servicer context given to handlers that move messages with `context.write()` /
    `context.read()` instead of yielding / iterating: the chain sees those messages, and
    reads are decoded like iterated requests."""

    __slots__ = ("_call", "_chain", "_context", "_decode")

    def __init__(self, context: Any, chain: Chain, call: CallState, decode: Any) -> None:
        self._context = context
        self._chain = chain
        self._call = call
        self._decode = decode

    async def write(self, message: Any) -> None:
        await self._context.write(message)
        self._chain.sent(self._call, message)

    async def read(self) -> Any:
        message = await self._context.read()
        if message is not aio.EOF:
            if self._decode is not None:
                message = self._decode(message)
            self._chain.received(self._call, message)
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


async def _requests(
    chain: Chain, call: CallState, decode: Any, raw: AsyncIterator[Any]
) -> AsyncIterator[Any]:
    async for message in raw:
        if decode is not None:
            message = decode(message)
        chain.received(call, message)
        yield message


def _request(chain: Chain, call: CallState, decode: Any, raw: Any, stream_in: bool) -> Any:
    if stream_in:
        return _requests(chain, call, decode, raw)
    request = raw if decode is None else decode(raw)
    chain.received(call, request)
    return request


async def _fail(chain: Chain, call: CallState, context: Any, exc: BaseException) -> None:
    """End the call a handler's exception ended, with its status (always raises)."""
    if isinstance(exc, asyncio.CancelledError):
        chain.end(call, terminated_code(context))
        raise exc
    if isinstance(exc, RpcError):
        chain.end(call, exc.code, exc.message)
        status = exc.to_status()
        await context.abort(status.code, status.details, status.trailing_metadata)
    code = context.code()
    if isinstance(exc, aio.AbortError) or (code is not None and code is not OK):
        chain.end(call, code or grpc.StatusCode.UNKNOWN, details_str(context.details()))
        raise exc
    code, message = chain.uncaught(call, exc)
    chain.end(call, code, message)
    await context.abort(code, message)


def _final_code(context: Any) -> tuple[grpc.StatusCode, str | None]:
    code = context.code()
    if code is None or code is OK:
        return OK, None
    return code, details_str(context.details())


def _unary(chain: Chain, behavior: Any, decode: Any, stream_in: bool) -> Any:
    async def run(raw: Any, context: Any) -> Any:
        call = await _start(chain, context)
        try:
            request = _request(chain, call, decode, raw, stream_in)
            response = await behavior(
                request, _EdgeContext(context, chain, call, decode) if stream_in else context
            )
        except BaseException as exc:
            await _fail(chain, call, context, exc)
            raise
        code, details = _final_code(context)
        if code is OK:
            chain.sent(call, response)
        chain.end(call, code, details)
        return response

    return run


def _stream(chain: Chain, behavior: Any, decode: Any, stream_in: bool) -> Any:
    # A generator that only yields needs no proxy; write()/read() users get the edge's.
    proxy = stream_in or not inspect.isasyncgenfunction(behavior)

    async def responses(raw: Any, context: Any) -> AsyncIterator[Any]:
        call = await _start(chain, context)
        try:
            request = _request(chain, call, decode, raw, stream_in)
            result = behavior(
                request, _EdgeContext(context, chain, call, decode) if proxy else context
            )
            if inspect.isasyncgen(result):
                async for response in result:
                    yield response
                    chain.sent(call, response)  # grpc asked for the next one: it went out
            else:  # a coroutine writing with context.write() (seen through the proxy)
                await result
        except GeneratorExit:
            chain.end(call, grpc.StatusCode.CANCELLED)
            raise
        except BaseException as exc:
            await _fail(chain, call, context, exc)
            raise
        code, details = _final_code(context)
        chain.end(call, code, details)

    return responses


def _unimplemented(chain: Chain) -> Any:
    async def unimplemented(requests: Any, context: Any) -> None:
        call = new_call(context)
        if chain.begin(call, context) is None:
            await _send_headers(call, context)
        chain.end(call, grpc.StatusCode.UNIMPLEMENTED, NOT_FOUND)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, NOT_FOUND)

    return unimplemented


# Defined last: its wrappers are the functions above.
class AioServerEdge(HandlerWrapping, aio.ServerInterceptor):
    """The one grpc.aio server interceptor: runs the chain of `factories` on every call."""

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        return self.handler_for(details.method, await continuation(details))

    unary_behavior = staticmethod(_unary)
    stream_behavior = staticmethod(_stream)
    unimplemented_behavior = staticmethod(_unimplemented)
