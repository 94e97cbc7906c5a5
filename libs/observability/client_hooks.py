"""Observability's hook in the client edge's chain (libs/edge/client_*.py).

Every outgoing call carries the current correlation id (a new one when none is bound), the
user id, and W3C trace context naming the client span; the per-method observer records the
call like a server call (metrics, span, access line).
"""

from __future__ import annotations

from typing import Any

import grpc

from libs.edge import CallHook, CallState, HookFactory
from libs.edge.callmeta import RpcKind
from libs.observability.interceptors._common import outgoing_metadata
from libs.observability.pipeline import Pipeline
from libs.observability.reporter import MethodObserver
from libs.observability.spans import inject_for


class ClientObserverHook(CallHook):
    __slots__ = ("obs",)

    def __init__(self, obs: MethodObserver) -> None:
        self.obs = obs

    def begin(self, call: CallState, details: Any) -> None:
        pairs, cid, uid = outgoing_metadata(call.outgoing)
        call.correlation_id = cid
        call.user_id = uid
        for r in self.obs.starting:
            r.started(call, {})
        if call.span is not None:
            carrier: dict[str, str] = {}
            inject_for(call.span, carrier)
            pairs.extend(carrier.items())
        call.outgoing = pairs

    def received(self, call: CallState, message: Any) -> None:
        self.obs.received(call, message)

    def sent(self, call: CallState, message: Any) -> None:
        self.obs.sent(call, message)

    def end(self, call: CallState, code: grpc.StatusCode, details: str | None) -> None:
        self.obs.finish(call, code, details)


class ClientObserverHooks(HookFactory):
    """The client pipeline of one target as a hook factory."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def for_method(self, method: str, kind: RpcKind) -> ClientObserverHook | None:
        obs = self.pipeline.observer(method, kind)
        return None if obs is None else ClientObserverHook(obs)
