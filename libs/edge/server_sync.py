"""The server edge for `grpc.server` (thread pool), all four call shapes.

Each call runs in a fresh `contextvars.Context`: what hooks bind (correlation id, identity,
deadline, span) stays with the call and never leaks into the next call served by the same
pool thread. Response streams are iterated by grpc after the handler returned, so their
chain begins at the first `next()` and ends when the iterator ends (or is closed because the
client went away).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from libs.edge.call import CallState
from libs.edge.chain import Chain, details_str, terminated_code
from libs.edge.server_handlers import NOT_FOUND, HandlerWrapping, new_call
from libs.status.errors import RpcError

OK = grpc.StatusCode.OK


def _send_headers(call: CallState, context: Any) -> None:
    if call.headers:
        context.send_initial_metadata(call.headers)


def _start(chain: Chain, context: Any) -> CallState:
    """A new call through every hook's `begin`; a rejection aborts it (always raises)."""
    call = new_call(context)
    rejection = chain.begin(call, context)
    if rejection is not None:
        chain.end(call, rejection.code, rejection.message)
        context.abort_with_status(rejection.to_status())
    _send_headers(call, context)
    return call


def _requests(chain: Chain, call: CallState, decode: Any, raw: Iterator[Any]) -> Iterator[Any]:
    for message in raw:
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


def _fail(chain: Chain, call: CallState, context: Any, exc: Exception) -> None:
    """End the call a handler's exception ended, with its status (always raises)."""
    if isinstance(exc, RpcError):
        chain.end(call, exc.code, exc.message)
        context.abort_with_status(exc.to_status())
    code = context.code()
    if code is not None and code is not OK:
        # context.abort() (a bare Exception) or set_code + raise: the handler chose it.
        chain.end(call, code, details_str(context.details()))
        raise exc
    code, message = chain.uncaught(call, exc)
    chain.end(call, code, message)
    context.abort(code, message)


def _final_code(context: Any) -> tuple[grpc.StatusCode, str | None]:
    code = context.code()
    if code is None:
        return (OK, None) if context.is_active() else (terminated_code(context), None)
    return code, details_str(context.details())


def _unary(chain: Chain, behavior: Any, decode: Any, stream_in: bool) -> Any:
    def run(raw: Any, context: Any) -> Any:
        call = _start(chain, context)
        try:
            response = behavior(_request(chain, call, decode, raw, stream_in), context)
        except Exception as exc:
            _fail(chain, call, context, exc)
            raise  # not reached: _fail raises
        code, details = _final_code(context)
        if code is OK:
            chain.sent(call, response)
        chain.end(call, code, details)
        return response

    def in_own_context(raw: Any, context: Any) -> Any:
        return contextvars.copy_context().run(run, raw, context)

    return in_own_context


def _stream(chain: Chain, behavior: Any, decode: Any, stream_in: bool) -> Any:
    def responses(raw: Any, context: Any) -> Iterator[Any]:
        call = _start(chain, context)
        finished = False
        try:
            for response in behavior(_request(chain, call, decode, raw, stream_in), context):
                yield response
                # grpc asked for the next one: the previous response went out.
                chain.sent(call, response)
        except GeneratorExit:
            # grpc dropped the iterator: the client cancelled or the deadline passed.
            finished = True
            chain.end(call, grpc.StatusCode.CANCELLED if context.is_active()
                      else terminated_code(context))
            raise
        except Exception as exc:
            finished = True
            _fail(chain, call, context, exc)
        finally:
            if not finished:
                code, details = _final_code(context)
                chain.end(call, code, details)

    def in_own_context(raw: Any, context: Any) -> Iterator[Any]:
        return _ContextIterator(contextvars.copy_context(), responses(raw, context))

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


def _unimplemented(chain: Chain) -> Any:
    def unimplemented(requests: Any, context: Any) -> None:
        call = new_call(context)
        if chain.begin(call, context) is None:
            _send_headers(call, context)
        chain.end(call, grpc.StatusCode.UNIMPLEMENTED, NOT_FOUND)
        context.abort(grpc.StatusCode.UNIMPLEMENTED, NOT_FOUND)

    def in_own_context(requests: Any, context: Any) -> None:
        contextvars.copy_context().run(unimplemented, requests, context)

    return in_own_context


# Defined last: its wrappers are the functions above.
class ServerEdge(HandlerWrapping, grpc.ServerInterceptor):
    """The one server interceptor: runs the chain of `factories` (in order) on every call."""

    def intercept_service(self, continuation: Callable[..., Any], details: Any) -> Any:
        return self.handler_for(details.method, continuation(details))

    unary_behavior = staticmethod(_unary)
    stream_behavior = staticmethod(_stream)
    unimplemented_behavior = staticmethod(_unimplemented)
