"""The client edge for `grpc` channels (`grpc.intercept_channel`), all four call shapes.

One interceptor runs the chain of every concern of outgoing calls — the bearer token and
deadline propagation (libs.security), the default deadline (libs.runtime), observability's
reporter — so a call's details are copied once, not once per concern. Hooks edit
`call.outgoing` / `call.timeout` in `begin`; `sent`/`received` see each message; `end` sees
the status from the call's done callback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import grpc

from libs.call_details import sync_details
from libs.edge.call import CallState
from libs.edge.callmeta import RpcKind
from libs.edge.chain import Chain, details_str

OK = grpc.StatusCode.OK
_MAX_CACHED = 4096


class ClientChains:
    """The chains of one channel's methods, built once per (method, kind)."""

    def __init__(self, factories: Sequence[Any], peer: tuple[str, int | None]) -> None:
        self.factories = tuple(factories)
        self.peer = peer
        self._chains: dict[tuple[Any, RpcKind], Chain | None] = {}

    def chain(self, method: Any, kind: RpcKind) -> Chain | None:
        key = (method, kind)
        try:
            return self._chains[key]
        except KeyError:
            pass
        name = method.decode() if isinstance(method, bytes) else method
        chain = Chain.build(name, [f.for_method(name, kind) for f in self.factories])
        if len(self._chains) < _MAX_CACHED:
            self._chains[key] = chain
        return chain

    def start(self, chain: Chain, details: Any) -> CallState:
        call = CallState(self.peer)
        call.outgoing = list(details.metadata) if details.metadata else []
        call.timeout = details.timeout
        for _, begin in chain.begins:
            begin(call, details)
        return call


class ClientEdge(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """The one sync client interceptor of a channel."""

    def __init__(self, factories: Sequence[Any],
                 peer: tuple[str, int | None] = ("unknown", None)) -> None:
        self.chains = ClientChains(factories, peer)

    def _start(self, chain: Chain, details: Any) -> tuple[CallState, Any]:
        call = self.chains.start(chain, details)
        return call, sync_details(details, metadata=call.outgoing, timeout=call.timeout)

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any,
                              request: Any) -> Any:
        chain = self.chains.chain(details.method, RpcKind.UNARY)
        if chain is None:
            return continuation(details, request)
        call, details = self._start(chain, details)
        chain.sent(call, request)
        outcome = continuation(details, request)
        outcome.add_done_callback(_done(chain, call, True))
        return outcome

    def intercept_stream_unary(self, continuation: Callable[..., Any], details: Any,
                               request_iterator: Iterator[Any]) -> Any:
        chain = self.chains.chain(details.method, RpcKind.CLIENT_STREAM)
        if chain is None:
            return continuation(details, request_iterator)
        call, details = self._start(chain, details)
        outcome = continuation(details, _sent(chain, call, request_iterator))
        outcome.add_done_callback(_done(chain, call, True))
        return outcome

    def intercept_unary_stream(self, continuation: Callable[..., Any], details: Any,
                               request: Any) -> Any:
        chain = self.chains.chain(details.method, RpcKind.SERVER_STREAM)
        if chain is None:
            return continuation(details, request)
        call, details = self._start(chain, details)
        chain.sent(call, request)
        rendezvous = continuation(details, request)
        rendezvous.add_done_callback(_done(chain, call, False))
        return _Responses(rendezvous, chain, call)

    def intercept_stream_stream(self, continuation: Callable[..., Any], details: Any,
                                request_iterator: Iterator[Any]) -> Any:
        chain = self.chains.chain(details.method, RpcKind.BIDI_STREAM)
        if chain is None:
            return continuation(details, request_iterator)
        call, details = self._start(chain, details)
        rendezvous = continuation(details, _sent(chain, call, request_iterator))
        rendezvous.add_done_callback(_done(chain, call, False))
        return _Responses(rendezvous, chain, call)


def _done(chain: Chain, call: CallState, unary_response: bool) -> Callable[[Any], None]:
    def done(future: Any) -> None:
        code = future.code()
        if code is None:  # not expected once done; unknown rather than OK
            code, details = grpc.StatusCode.UNKNOWN, None
        else:
            details = None if code is OK else details_str(future.details())
        if unary_response and code is OK:
            chain.received(call, None)
        chain.end(call, code, details)

    return done


def _sent(chain: Chain, call: CallState, requests: Iterator[Any]) -> Iterator[Any]:
    for request in requests:
        chain.sent(call, request)
        yield request


class _Responses:
    """The call object the caller gets back; the chain sees each response it reads."""

    __slots__ = ("_call", "_chain", "_inner")

    def __init__(self, inner: Any, chain: Chain, call: CallState) -> None:
        self._inner = inner
        self._chain = chain
        self._call = call

    def __iter__(self) -> _Responses:
        return self

    def __next__(self) -> Any:
        response = next(self._inner)
        self._chain.received(self._call, response)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
