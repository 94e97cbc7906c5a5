"""Server interceptor for `grpc.aio.server`, all four RPC kinds.

grpc.aio runs every RPC in its own task, so the correlation id, user id and span bound at
the start of a call stay with that call. Client cancellation and deadlines cancel the task:
the CancelledError is recorded (Canceled / DeadlineExceeded) and re-raised. A
response-streaming handler may be an async generator (iterated by grpc after we return) or a
coroutine writing with `context.write`; both are handled.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from grpc import aio

from libs.handlers import rebuild
from libs.observability.callmeta import RpcKind
from libs.observability.correlation import CORRELATION_HEADER
from libs.observability.interceptors._common import (
    correlation_for_server,
    details_str,
    internal_status,
    log_uncaught,
    metadata_dict,
    parse_peer,
    terminated_code,
)
from libs.observability.pipeline import Pipeline
from libs.observability.reporter import CallState, MethodObserver
from libs.status.errors import RpcError

OK = grpc.StatusCode.OK
_MAX_CACHED = 4096


class AioServerInterceptor(aio.ServerInterceptor):
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._wrapped: dict[tuple[str, Any], Any] = {}

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: Any
    ) -> Any:
        handler = await continuation(details)
        if handler is None:
            return _unknown_method_handler(self.pipeline, details.method)
        key = (details.method, handler)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrap(details.method, handler)
            if len(self._wrapped) < _MAX_CACHED:
                self._wrapped[key] = wrapped
        return wrapped

    def _wrap(self, method: str, handler: Any) -> Any:
        kind = RpcKind.of(handler.request_streaming, handler.response_streaming)
        obs = self.pipeline.observer(method, kind)
        if obs is None:
            return handler
        if kind is RpcKind.UNARY:
            return rebuild(handler, behavior=_unary_behavior(obs, handler.unary_unary, False))
        if kind is RpcKind.CLIENT_STREAM:
            return rebuild(handler, behavior=_unary_behavior(obs, handler.stream_unary, True))
        if kind is RpcKind.SERVER_STREAM:
            return rebuild(handler, behavior=_stream_behavior(obs, handler.unary_stream, False))
        return rebuild(handler, behavior=_stream_behavior(obs, handler.stream_stream, True))


_NOT_FOUND = "Method not found!"  # grpc's own details for an unknown method


def _unknown_method_handler(pipeline: Pipeline, method: str) -> Any:
    """A handler answering UNIMPLEMENTED exactly as grpc would, observed as `other`. A
    stream-stream handler reads nothing, so it fits whatever shape the caller used."""
    obs = pipeline.unknown_method_observer(method)
    if obs is None:
        return None

    async def unimplemented(request_iterator: Any, context: Any) -> None:
        call, _ = _begin(obs, context)
        obs.finish(call, grpc.StatusCode.UNIMPLEMENTED, _NOT_FOUND)
        await context.abort(grpc.StatusCode.UNIMPLEMENTED, _NOT_FOUND)

    return grpc.stream_stream_rpc_method_handler(unimplemented)


class _CountingContext:
    """The servicer context given to streaming handlers, counting the messages they move
    with `context.write()` / `context.read()` instead of yielding / iterating."""

    __slots__ = ("_call", "_context", "_obs")

    def __init__(self, context: Any, obs: MethodObserver, call: CallState) -> None:
        self._context = context
        self._obs = obs
        self._call = call

    async def write(self, message: Any) -> None:
        await self._context.write(message)
        self._obs.sent(self._call, message)

    async def read(self) -> Any:
        message = await self._context.read()
        if message is not aio.EOF:
            self._obs.received(self._call, message)
        return message

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def _begin(obs: MethodObserver, context: Any) -> tuple[CallState, bool]:
    """Start observing; the flag says the correlation id must be echoed (`_echo`)."""
    md = metadata_dict(context.invocation_metadata())
    cid, uid, echo = correlation_for_server(md)
    return obs.start(parse_peer(context.peer()), md, cid, uid), echo


async def _echo(context: Any, call: CallState) -> None:
    # Only a caller that did not send the id needs it back: the echo is a metadata batch of
    # its own (grpc.aio has no way to attach initial metadata to the first message), which
    # callers that know the id don't pay for (measured: bench/interceptor_overhead.py).
    await context.send_initial_metadata(((CORRELATION_HEADER, call.correlation_id),))


async def _counting(
    obs: MethodObserver, call: CallState, requests: AsyncIterator[Any]
) -> AsyncIterator[Any]:
    async for request in requests:
        obs.received(call, request)
        yield request


async def _fail(obs: MethodObserver, call: CallState, context: Any, exc: BaseException) -> None:
    """Record how the handler ended abnormally and produce the status (always raises)."""
    if isinstance(exc, asyncio.CancelledError):
        obs.finish(call, terminated_code(context))
        raise exc
    if isinstance(exc, RpcError):
        obs.finish(call, exc.code, exc.message)
        status = exc.to_status()
        await context.abort(status.code, status.details, status.trailing_metadata)
    code = context.code()
    if isinstance(exc, aio.AbortError) or (code is not None and code is not OK):
        obs.finish(call, code or grpc.StatusCode.UNKNOWN, details_str(context.details()))
        raise exc
    call.error = exc
    log_uncaught(obs.meta, exc, call.correlation_id)
    code, message = internal_status(call.correlation_id)
    obs.finish(call, code, message)
    await context.abort(code, message)


def _final_code(context: Any) -> tuple[grpc.StatusCode, str | None]:
    code = context.code()
    if code is None or code is OK:
        return OK, None
    return code, details_str(context.details())


def _unary_behavior(obs: MethodObserver, behavior: Any, stream_in: bool) -> Any:
    async def run(request: Any, context: Any) -> Any:
        call, echo = _begin(obs, context)
        if stream_in:
            request = _counting(obs, call, request)
        else:
            obs.received(call, request)
        try:
            if echo:
                await _echo(context, call)
            response = await behavior(
                request, _CountingContext(context, obs, call) if stream_in else context
            )
        except BaseException as exc:
            await _fail(obs, call, context, exc)
            raise
        code, details = _final_code(context)
        if code is OK:
            obs.sent(call, response)
        obs.finish(call, code, details)
        return response

    return run


def _stream_behavior(obs: MethodObserver, behavior: Any, stream_in: bool) -> Any:
    # A generator that only yields needs no proxy; write()/read() users get the counting one.
    proxy = stream_in or not inspect.isasyncgenfunction(behavior)

    async def responses(request: Any, context: Any) -> AsyncIterator[Any]:
        call, echo = _begin(obs, context)
        if stream_in:
            request = _counting(obs, call, request)
        else:
            obs.received(call, request)
        try:
            if echo:
                await _echo(context, call)
            result = behavior(request, _CountingContext(context, obs, call) if proxy else context)
            if inspect.isasyncgen(result):
                async for response in result:
                    yield response
                    obs.sent(call, response)  # grpc asked for the next one: it went out
            else:  # a coroutine writing with context.write() (counted by the proxy)
                await result
        except GeneratorExit:
            obs.finish(call, grpc.StatusCode.CANCELLED)
            raise
        except BaseException as exc:
            await _fail(obs, call, context, exc)
            raise
        code, details = _final_code(context)
        obs.finish(call, code, details)

    return responses
