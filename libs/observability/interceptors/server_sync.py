"""Server interceptor for `grpc.server` (thread pool), all four RPC kinds.

Each call runs in a fresh `contextvars.Context` (correlation id, user id and the span are
bound there and never leak into the next call served by the same pool thread). Response
streams are iterated by grpc after the handler returned, so their outcome is recorded when
the wrapped iterator ends (or is closed because the client went away).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import grpc

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


class ServerInterceptor(grpc.ServerInterceptor):
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self._wrapped: dict[tuple[str, Any], Any] = {}

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        handler = continuation(details)
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
            behavior = handler.unary_unary
            return rebuild(handler, behavior=_unary_behavior(obs, behavior, False))
        if kind is RpcKind.CLIENT_STREAM:
            behavior = handler.stream_unary
            return rebuild(handler, behavior=_unary_behavior(obs, behavior, True))
        if kind is RpcKind.SERVER_STREAM:
            behavior = handler.unary_stream
            return rebuild(handler, behavior=_stream_behavior(obs, behavior, False))
        behavior = handler.stream_stream
        return rebuild(handler, behavior=_stream_behavior(obs, behavior, True))


_NOT_FOUND = "Method not found!"  # grpc's own details for an unknown method


def _unknown_method_handler(pipeline: Pipeline, method: str) -> Any:
    """A handler answering UNIMPLEMENTED exactly as grpc would, observed as `other`. A
    stream-stream handler reads nothing, so it fits whatever shape the caller used."""
    obs = pipeline.unknown_method_observer(method)
    if obs is None:
        return None

    def unimplemented(request_iterator: Any, context: Any) -> None:
        md = metadata_dict(context.invocation_metadata())
        cid, uid, _ = correlation_for_server(md)
        call = obs.start(parse_peer(context.peer()), md, cid, uid)
        obs.finish(call, grpc.StatusCode.UNIMPLEMENTED, _NOT_FOUND)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, _NOT_FOUND)

    def in_own_context(request_iterator: Any, context: Any) -> None:
        contextvars.copy_context().run(unimplemented, request_iterator, context)

    return grpc.stream_stream_rpc_method_handler(in_own_context)


def _begin(obs: MethodObserver, context: Any) -> CallState:
    md = metadata_dict(context.invocation_metadata())
    cid, uid, echo = correlation_for_server(md)
    call = obs.start(parse_peer(context.peer()), md, cid, uid)
    if echo:
        # Only a caller that did not send the id needs it back; in sync servers the echo
        # costs a metadata batch of its own, so callers that know it don't pay for it.
        context.send_initial_metadata(((CORRELATION_HEADER, cid),))
    return call


def _counting(obs: MethodObserver, call: CallState, requests: Iterator[Any]) -> Iterator[Any]:
    for request in requests:
        obs.received(call, request)
        yield request


def _fail(obs: MethodObserver, call: CallState, context: Any, exc: Exception) -> None:
    """Record a handler exception and turn it into the call's status (always raises)."""
    if isinstance(exc, RpcError):
        obs.finish(call, exc.code, exc.message)
        context.abort_with_status(exc.to_status())
    code = context.code()
    if code is not None and code is not OK:
        # context.abort() (a bare Exception) or set_code + raise: the handler chose the status.
        obs.finish(call, code, details_str(context.details()))
        raise exc
    call.error = exc
    log_uncaught(obs.meta, exc, call.correlation_id)
    code, message = internal_status(call.correlation_id)
    obs.finish(call, code, message)
    context.abort(code, message)


def _final_code(context: Any) -> tuple[grpc.StatusCode, str | None]:
    code = context.code()
    if code is None:
        return (OK, None) if context.is_active() else (terminated_code(context), None)
    return code, details_str(context.details())


def _unary_behavior(obs: MethodObserver, behavior: Any, stream_in: bool) -> Any:
    def run(request: Any, context: Any) -> Any:
        call = _begin(obs, context)
        if stream_in:
            request = _counting(obs, call, request)
        else:
            obs.received(call, request)
        try:
            response = behavior(request, context)
        except Exception as exc:
            _fail(obs, call, context, exc)
            raise  # not reached: _fail raises
        code, details = _final_code(context)
        if code is OK:
            obs.sent(call, response)
        obs.finish(call, code, details)
        return response

    def in_own_context(request: Any, context: Any) -> Any:
        return contextvars.copy_context().run(run, request, context)

    return in_own_context


def _stream_behavior(obs: MethodObserver, behavior: Any, stream_in: bool) -> Any:
    def responses(request: Any, context: Any) -> Iterator[Any]:
        call = _begin(obs, context)
        if stream_in:
            request = _counting(obs, call, request)
        else:
            obs.received(call, request)
        finished = False
        try:
            for response in behavior(request, context):
                yield response
                # grpc asked for the next one: the previous response went out.
                obs.sent(call, response)
        except GeneratorExit:
            # grpc dropped the iterator: the client cancelled or the deadline passed.
            finished = True
            obs.finish(call, terminated_code(context) if not context.is_active() else
                       grpc.StatusCode.CANCELLED)
            raise
        except Exception as exc:
            finished = True
            _fail(obs, call, context, exc)
        finally:
            if not finished:
                code, details = _final_code(context)
                obs.finish(call, code, details)

    def in_own_context(request: Any, context: Any) -> Iterator[Any]:
        return _ContextIterator(contextvars.copy_context(), responses(request, context))

    return in_own_context


class _ContextIterator:
    """Advances a generator inside the call's own context (one per call)."""

    __slots__ = ("ctx", "gen")

    def __init__(self, ctx: contextvars.Context, gen: Iterator[Any]) -> None:
        self.ctx = ctx
        self.gen = gen

    def __iter__(self) -> _ContextIterator:
        return self

    def __next__(self) -> Any:
        return self.ctx.run(next, self.gen)

    def close(self) -> None:
        self.ctx.run(self.gen.close)  # type: ignore[attr-defined]

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass
