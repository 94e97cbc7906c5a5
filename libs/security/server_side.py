"""Server interceptors (grpc.aio and sync) around the observability interceptor:

    interceptors = [outer, *observability_interceptors, inner]

- `outer` runs first in the call: it authenticates, authorises and rate-limits (the
  `Decision`), binds the identity (contextvar, read by `current_identity()`), the call's
  deadline (for outgoing calls) and the authenticated user id for correlation — so the
  observability layer, which runs next, logs the identity's `userId` and never a
  caller-claimed `x-user-id`.
- `inner` runs last, just before the servicer: it raises the decision's error. Raising there
  (not in `outer`) lets the observability layer record rejected calls like any other status:
  UNAUTHENTICATED / PERMISSION_DENIED / RESOURCE_EXHAUSTED appear in metrics (401/403/429),
  access logs and spans.

Health is never authenticated (kubelet probes carry no token); reflection is configurable.
"""

from __future__ import annotations

import contextvars
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

import grpc
from grpc import aio

from libs.handlers import rebuild
from libs.observability import correlation
from libs.security.deadlines import bind_deadline, deadline_of
from libs.security.guard import Decision, Guard
from libs.security.identity import bind_identity
from libs.status.errors import RpcError

_decision: ContextVar[Decision | None] = ContextVar("bytebot_security_decision", default=None)
_MAX_CACHED = 4096


def _bind(guard: Guard, method: str, context: Any) -> None:
    decision = guard.decide(method, context.invocation_metadata(), context.peer())
    _decision.set(decision)
    bind_identity(decision.identity)
    bind_deadline(deadline_of(context))
    if decision.authenticated_mode:
        correlation.set_authenticated_user(decision.identity.subject if decision.identity else None)


def _rejection(guard: Guard, method: str, context: Any) -> RpcError | None:
    decision = _decision.get()
    if decision is None:  # no outer interceptor in this chain: decide here
        _bind(guard, method, context)
        decision = _decision.get()
    assert decision is not None
    return decision.error


async def _aio_enforce(guard: Guard, method: str, context: Any) -> None:
    """Abort with the decision's status. `context.abort` (not raising the RpcError) so the
    status is right also for methods the observability layer does not wrap (reflection)."""
    error = _rejection(guard, method, context)
    if error is not None:
        status = error.to_status()
        await context.abort(status.code, status.details, status.trailing_metadata)


def _sync_enforce(guard: Guard, method: str, context: Any) -> None:
    error = _rejection(guard, method, context)
    if error is not None:
        context.abort_with_status(error.to_status())


class _Cached:
    def __init__(self) -> None:
        self._wrapped: dict[tuple[str, Any], Any] = {}

    def _cached(self, method: str, handler: Any, wrap: Callable[[str, Any], Any]) -> Any:
        if handler is None:
            return None
        key = (method, handler)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = wrap(method, handler)
            if len(self._wrapped) < _MAX_CACHED:
                self._wrapped[key] = wrapped
        return wrapped


# -- grpc.aio -------------------------------------------------------------------------------


def _aio_wrap(
    handler: Any,
    before: Callable[[Any], Awaitable[None]],
    parse: Callable[[Any, Any], Awaitable[Any]] | None = None,
) -> Any:
    """The handler with `await before(context)` run at the start of the call, in the call's
    task (grpc.aio runs each RPC in a task of its own: bindings stay with the call); with
    `parse`, requests arrive as bytes and `await parse(raw, context)` decodes each."""
    if parse is not None:
        handler = rebuild(handler, request_deserializer=None)

    async def one(request: Any, context: Any) -> Any:
        return request if parse is None else await parse(request, context)

    async def each(requests: Any, context: Any) -> AsyncIterator[Any]:
        async for request in requests:
            yield await one(request, context)

    def many(requests: Any, context: Any) -> Any:
        return requests if parse is None else each(requests, context)

    if handler.unary_unary is not None:
        uu = handler.unary_unary

        async def unary_unary(request: Any, context: Any) -> Any:
            await before(context)
            return await uu(await one(request, context), context)

        return rebuild(handler, behavior=unary_unary)
    if handler.stream_unary is not None:
        su = handler.stream_unary

        async def stream_unary(requests: Any, context: Any) -> Any:
            await before(context)
            return await su(many(requests, context), context)

        return rebuild(handler, behavior=stream_unary)

    def streaming(behavior: Any, stream_in: bool) -> Any:
        async def responses(request: Any, context: Any) -> AsyncIterator[Any]:
            await before(context)
            request = many(request, context) if stream_in else await one(request, context)
            result = behavior(request, context)
            if inspect.isasyncgen(result):
                async for response in result:
                    yield response
            else:  # a coroutine writing with context.write()
                await result

        return responses

    if handler.unary_stream is not None:
        return rebuild(handler, behavior=streaming(handler.unary_stream, False))
    return rebuild(handler, behavior=streaming(handler.stream_stream, True))


def _bad_request_message(method: str) -> str:
    return f"invalid request for {method}: not a valid protobuf message (corrupt wire format)"


def _aio_parser(method: str, deserialize: Any) -> Callable[[Any, Any], Awaitable[Any]] | None:
    """Decode requests inside the call, so a corrupt message is INVALID_ARGUMENT (grpc.aio
    itself answers UNKNOWN with the decoder's exception text)."""
    if deserialize is None:
        return None

    async def parse(raw: Any, context: Any) -> Any:
        try:
            return deserialize(raw)
        except Exception:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, _bad_request_message(method))

    return parse


class AioSecurityBinder(_Cached, aio.ServerInterceptor):
    """Outer aio interceptor: decide and bind."""

    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        return self._cached(details.method, handler, self._wrap)

    def _wrap(self, method: str, handler: Any) -> Any:
        guard = self.guard

        async def before(context: Any) -> None:
            _bind(guard, method, context)

        return _aio_wrap(handler, before)


class AioSecurityEnforcer(_Cached, aio.ServerInterceptor):
    """Inner aio interceptor: raise the decision's error before the servicer runs."""

    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    async def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = await continuation(details)
        return self._cached(details.method, handler, self._wrap)

    def _wrap(self, method: str, handler: Any) -> Any:
        guard = self.guard

        async def before(context: Any) -> None:
            await _aio_enforce(guard, method, context)

        return _aio_wrap(handler, before, _aio_parser(method, handler.request_deserializer))


# -- sync (thread pool) ---------------------------------------------------------------------


class _ContextIterator:
    """Advances a response iterator inside the call's own context."""

    __slots__ = ("ctx", "it")

    def __init__(self, ctx: contextvars.Context, it: Iterator[Any]) -> None:
        self.ctx = ctx
        self.it = it

    def __iter__(self) -> _ContextIterator:
        return self

    def __next__(self) -> Any:
        return self.ctx.run(next, self.it)

    def close(self) -> None:
        close = getattr(self.it, "close", None)
        if close is not None:
            self.ctx.run(close)


def _sync_wrap(handler: Any, before: Callable[[Any], None], own_context: bool) -> Any:
    """`own_context`: run the call in a copied context (the outer interceptor: bindings must
    not leak into the next call served by the same pool thread)."""

    def unary(behavior: Any) -> Any:
        def run(request: Any, context: Any) -> Any:
            if not own_context:
                before(context)
                return behavior(request, context)
            ctx = contextvars.copy_context()
            ctx.run(before, context)
            return ctx.run(behavior, request, context)

        return run

    def streaming(behavior: Any) -> Any:
        def run(request: Any, context: Any) -> Any:
            if not own_context:
                before(context)
                return behavior(request, context)
            ctx = contextvars.copy_context()
            ctx.run(before, context)
            return _ContextIterator(ctx, ctx.run(behavior, request, context))

        return run

    if handler.unary_unary is not None:
        return rebuild(handler, behavior=unary(handler.unary_unary))
    if handler.stream_unary is not None:
        return rebuild(handler, behavior=unary(handler.stream_unary))
    if handler.unary_stream is not None:
        return rebuild(handler, behavior=streaming(handler.unary_stream))
    return rebuild(handler, behavior=streaming(handler.stream_stream))


class SyncSecurityBinder(_Cached, grpc.ServerInterceptor):
    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        return self._cached(details.method, handler, self._wrap)

    def _wrap(self, method: str, handler: Any) -> Any:
        return _sync_wrap(handler, lambda context: _bind(self.guard, method, context), True)


class SyncSecurityEnforcer(_Cached, grpc.ServerInterceptor):
    def __init__(self, guard: Guard) -> None:
        super().__init__()
        self.guard = guard

    def intercept_service(self, continuation: Any, details: Any) -> Any:
        handler = continuation(details)
        return self._cached(details.method, handler, self._wrap)

    def _wrap(self, method: str, handler: Any) -> Any:
        """Enforce, then decode the request(s) inside the call: the sync server itself
        answers a corrupt message with INTERNAL. Response streams check when grpc first
        advances them, inside the observability layer's generator."""
        guard = self.guard
        deserialize = handler.request_deserializer
        if deserialize is not None:
            handler = rebuild(handler, request_deserializer=None)

        def parse(raw: Any, context: Any) -> Any:
            if deserialize is None:
                return raw
            try:
                return deserialize(raw)
            except Exception:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, _bad_request_message(method))

        def parse_all(requests: Any, context: Any) -> Iterator[Any]:
            for raw in requests:
                yield parse(raw, context)

        if handler.unary_unary is not None:
            uu = handler.unary_unary

            def unary_unary(request: Any, context: Any) -> Any:
                _sync_enforce(guard, method, context)
                return uu(parse(request, context), context)

            return rebuild(handler, behavior=unary_unary)
        if handler.stream_unary is not None:
            su = handler.stream_unary

            def stream_unary(requests: Any, context: Any) -> Any:
                _sync_enforce(guard, method, context)
                return su(parse_all(requests, context), context)

            return rebuild(handler, behavior=stream_unary)
        if handler.unary_stream is not None:
            us = handler.unary_stream

            def unary_stream(request: Any, context: Any) -> Iterator[Any]:
                _sync_enforce(guard, method, context)
                yield from us(parse(request, context), context)

            return rebuild(handler, behavior=unary_stream)
        ss = handler.stream_stream

        def stream_stream(requests: Any, context: Any) -> Iterator[Any]:
            _sync_enforce(guard, method, context)
            yield from ss(parse_all(requests, context), context)

        return rebuild(handler, behavior=stream_stream)


def aio_server_interceptors(guard: Guard, observability: list[Any]) -> list[Any]:
    return [AioSecurityBinder(guard), *observability, AioSecurityEnforcer(guard)]


def sync_server_interceptors(guard: Guard, observability: list[Any]) -> list[Any]:
    return [SyncSecurityBinder(guard), *observability, SyncSecurityEnforcer(guard)]


__all__ = [
    "AioSecurityBinder",
    "AioSecurityEnforcer",
    "SyncSecurityBinder",
    "SyncSecurityEnforcer",
    "aio_server_interceptors",
    "sync_server_interceptors",
]
