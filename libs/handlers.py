"""Wrapping a gRPC method handler through grpc's public constructors (issue 13 item 3).

Interceptors return a changed copy of the handler grpc resolved for a method: a new
behaviour (the wrapped servicer method) or no request deserializer (security decodes in the
call). `handler._replace(...)` did that only because grpc's handler happens to be a private
namedtuple (`grpc._utilities.RpcMethodHandler`); `rebuild` asks grpc's public
`*_rpc_method_handler` functions instead, which work for sync and grpc.aio servers alike.
It runs once per method (the interceptors cache the result), so it costs nothing per call.
"""

from __future__ import annotations

from typing import Any

import grpc

_KEEP: Any = object()


def rebuild(handler: Any, *, behavior: Any = _KEEP,
            request_deserializer: Any = _KEEP) -> grpc.RpcMethodHandler:
    """A handler of the same kind and serializers, with `behavior` and/or
    `request_deserializer` replaced."""
    deserializer = (handler.request_deserializer if request_deserializer is _KEEP
                    else request_deserializer)
    serializer = handler.response_serializer
    for kind, make in (
        ("unary_unary", grpc.unary_unary_rpc_method_handler),
        ("unary_stream", grpc.unary_stream_rpc_method_handler),
        ("stream_unary", grpc.stream_unary_rpc_method_handler),
        ("stream_stream", grpc.stream_stream_rpc_method_handler),
    ):
        current = getattr(handler, kind)
        if current is not None:
            return make(current if behavior is _KEEP else behavior, deserializer, serializer)
    raise ValueError(f"not a method handler: {handler!r}")


__all__ = ["rebuild"]
