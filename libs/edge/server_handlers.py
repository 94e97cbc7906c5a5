"""What the sync and aio server edges share: wrapping each method's handler once.

A server edge sees every call's handler from grpc. For each (method, handler) it builds the
method's chain once, and — unless no hook observes the method — swaps the handler's behavior
for the edge's wrapper of that call shape (requests are then decoded inside the call, so a
corrupt message is the chain's INVALID_ARGUMENT, not grpc's). Which wrappers run is the one
thing that differs between `grpc.server` and `grpc.aio.server`: `ServerEdge` and
`AioServerEdge` give `unary_behavior`, `stream_behavior` and `unimplemented_behavior`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import grpc

from libs.edge.call import CallState
from libs.edge.callmeta import RpcKind
from libs.edge.chain import Chain, decoder
from libs.handlers import rebuild
from libs.net import parse_peer

NOT_FOUND = "Method not found!"  # grpc's own details for an unknown method
_MAX_CACHED = 4096

# shape -> (the handler's behavior attribute, does the call stream requests, responses)
_SHAPES: dict[RpcKind, tuple[str, bool, bool]] = {
    RpcKind.UNARY: ("unary_unary", False, False),
    RpcKind.CLIENT_STREAM: ("stream_unary", True, False),
    RpcKind.SERVER_STREAM: ("unary_stream", False, True),
    RpcKind.BIDI_STREAM: ("stream_stream", True, True),
}

# (chain, the handler's behavior, the request decoder or None, stream_in) -> new behavior
BehaviorWrapper = Callable[[Chain, Any, Any, bool], Any]


class HandlerWrapping:
    """The per-(method, handler) cache of wrapped handlers, for both server edges."""

    unary_behavior: BehaviorWrapper  # unary and client-stream calls
    stream_behavior: BehaviorWrapper  # server-stream and bidi calls
    # (the unknown method's chain) -> a stream-stream behavior answering UNIMPLEMENTED
    unimplemented_behavior: Callable[[Chain], Any]

    def __init__(self, factories: Sequence[Any]) -> None:
        self.factories = tuple(factories)
        self._wrapped: dict[tuple[str, Any], Any] = {}

    def extended(self, *factories: Any) -> Any:
        """The same edge with more hooks at the end of the chain (innermost)."""
        return type(self)((*self.factories, *factories))

    def handler_for(self, method: str, handler: Any) -> Any:
        """What the edge gives grpc for `method`, whose own handler is `handler` (None: the
        server lacks the method)."""
        if handler is None:
            return self._unknown(method)
        key = (method, handler)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrap(method, handler)
            if len(self._wrapped) < _MAX_CACHED:
                self._wrapped[key] = wrapped
        return wrapped

    def _unknown(self, method: str) -> Any:
        """UNIMPLEMENTED exactly as grpc answers it, seen by the hooks that ask for it. A
        stream-stream handler reads nothing, so it fits whatever shape the caller used."""
        chain = Chain.build(method, [f.for_unknown_method(method) for f in self.factories])
        if chain is None:
            return None
        return grpc.stream_stream_rpc_method_handler(self.unimplemented_behavior(chain))

    def _wrap(self, method: str, handler: Any) -> Any:
        kind = RpcKind.of(handler.request_streaming, handler.response_streaming)
        chain = Chain.build(method, [f.for_method(method, kind) for f in self.factories])
        if chain is None:
            return handler
        attr, stream_in, stream_out = _SHAPES[kind]
        wrapper = self.stream_behavior if stream_out else self.unary_behavior
        decode = decoder(method, handler.request_deserializer)
        behavior = wrapper(chain, getattr(handler, attr), decode, stream_in)
        return rebuild(handler, request_deserializer=None, behavior=behavior)


def new_call(context: Any) -> CallState:
    return CallState(parse_peer(context.peer()), raw_metadata=context.invocation_metadata())
