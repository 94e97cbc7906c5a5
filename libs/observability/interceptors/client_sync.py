"""Client interceptor for `grpc` channels (`grpc.intercept_channel`), all four RPC kinds.

Every outgoing call carries the current correlation id (a new one when none is bound), the
user id, and W3C trace context naming the client span. The outcome is taken from the call's
done callback; response streams are wrapped to count messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc

from libs.call_details import sync_details
from libs.edge.callmeta import RpcKind
from libs.observability.interceptors._common import details_str, outgoing_metadata
from libs.observability.pipeline import Pipeline
from libs.observability.reporter import CallState, MethodObserver
from libs.observability.spans import inject_for

OK = grpc.StatusCode.OK


class ClientInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, pipeline: Pipeline, peer: tuple[str, int | None] = ("unknown", None)):
        self.pipeline = pipeline
        self.peer = peer

    def _begin(self, obs: MethodObserver, details: Any) -> tuple[CallState, Any]:
        pairs, cid, uid = outgoing_metadata(details.metadata)
        call = obs.start(self.peer, {}, cid, uid)
        if call.span is not None:
            carrier: dict[str, str] = {}
            inject_for(call.span, carrier)
            pairs.extend(carrier.items())
        new = sync_details(details, metadata=pairs)
        return call, new

    def _observer(self, details: Any, kind: RpcKind) -> MethodObserver | None:
        method = details.method
        if isinstance(method, bytes):
            method = method.decode()
        return self.pipeline.observer(method, kind)

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any,
                              request: Any) -> Any:
        obs = self._observer(details, RpcKind.UNARY)
        if obs is None:
            return continuation(details, request)
        call, details = self._begin(obs, details)
        obs.sent(call)
        outcome = continuation(details, request)
        outcome.add_done_callback(_unary_done(obs, call))
        return outcome

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any,
                               request_iterator: Iterator[Any]) -> Any:
        obs = self._observer(details, RpcKind.CLIENT_STREAM)
        if obs is None:
            return continuation(details, request_iterator)
        call, details = self._begin(obs, details)
        outcome = continuation(details, _counting_sent(obs, call, request_iterator))
        outcome.add_done_callback(_unary_done(obs, call))
        return outcome

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any,
                               request: Any) -> Any:
        obs = self._observer(details, RpcKind.SERVER_STREAM)
        if obs is None:
            return continuation(details, request)
        call, details = self._begin(obs, details)
        obs.sent(call)
        rendezvous = continuation(details, request)
        rendezvous.add_done_callback(_stream_done(obs, call))
        return _CountingResponses(rendezvous, obs, call)

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: Any,
                                request_iterator: Iterator[Any]) -> Any:
        obs = self._observer(details, RpcKind.BIDI_STREAM)
        if obs is None:
            return continuation(details, request_iterator)
        call, details = self._begin(obs, details)
        rendezvous = continuation(details, _counting_sent(obs, call, request_iterator))
        rendezvous.add_done_callback(_stream_done(obs, call))
        return _CountingResponses(rendezvous, obs, call)


def _outcome(future: Any) -> tuple[grpc.StatusCode, str | None]:
    code = future.code()
    if code is None:  # not expected once done; treat as unknown rather than OK
        return grpc.StatusCode.UNKNOWN, None
    return code, (None if code is OK else details_str(future.details()))


def _unary_done(obs: MethodObserver, call: CallState) -> Callable[[Any], None]:
    def done(future: Any) -> None:
        code, details = _outcome(future)
        if code is OK:
            obs.received(call)
        obs.finish(call, code, details)

    return done


def _stream_done(obs: MethodObserver, call: CallState) -> Callable[[Any], None]:
    def done(future: Any) -> None:
        code, details = _outcome(future)
        obs.finish(call, code, details)

    return done


def _counting_sent(obs: MethodObserver, call: CallState, requests: Iterator[Any]) -> Iterator[Any]:
    for request in requests:
        obs.sent(call)
        yield request


class _CountingResponses:
    """The call object the caller gets back, counting each response it reads."""

    __slots__ = ("_call", "_inner", "_obs")

    def __init__(self, inner: Any, obs: MethodObserver, call: CallState) -> None:
        self._inner = inner
        self._obs = obs
        self._call = call

    def __iter__(self) -> _CountingResponses:
        return self

    def __next__(self) -> Any:
        response = next(self._inner)
        self._obs.received(self._call)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
