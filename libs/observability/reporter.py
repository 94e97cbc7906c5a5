"""One reporter per call (go-grpc-middleware's shape): the interceptors tell it what happens
to a call (started, message received, message sent, finished) and it fans out to one reporter
per signal — metrics, span, access log. A new signal is one new reporter.

Per-method state (metric label children, span name and attributes, log fields) is built once
per method by the reporter factories, so the per-call work is one small `CallState` plus the
unavoidable signal updates.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import grpc

from libs.edge.call import CallState
from libs.edge.callmeta import CallMeta
from libs.observability.correlation import CORRELATION_HEADER, bind_incoming


class Reporter(Protocol):
    """One signal's view of calls to one method."""

    def started(self, call: CallState, metadata: dict[str, Any]) -> None: ...

    def message_received(self, call: CallState) -> None: ...

    def message_sent(self, call: CallState) -> None: ...

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None: ...


class ReporterFactory(Protocol):
    """Builds the reporter of a signal for one method (once per method, not per call)."""

    def for_method(self, meta: CallMeta) -> Reporter: ...


class MethodObserver:
    """The composite reporter of one method: fans each event out to every signal.

    Order matters: the span reporter runs first on start (the others can see the span) and
    last on finish (metrics and logs read its trace id before it ends).
    """

    __slots__ = ("finishing", "meta", "receivers", "senders", "sizes", "starting")

    def __init__(self, meta: CallMeta, reporters: list[Reporter]) -> None:
        self.meta = meta
        # Message sizes cost a ByteSize() per message: only when a signal records them.
        self.sizes = any(getattr(r, "wants_sizes", False) for r in reporters)
        # Hooks only for reporters that override them (saves a call per event).
        self.starting = tuple(r for r in reporters if _overrides(r, "started"))
        self.finishing = tuple(r for r in reversed(reporters) if _overrides(r, "finished"))
        self.receivers = tuple(r for r in reporters if _overrides(r, "message_received"))
        self.senders = tuple(r for r in reporters if _overrides(r, "message_sent"))

    def start(self, peer: tuple[str, int | None], metadata: dict[str, Any],
              correlation_id: str | None, user_id: str | None) -> CallState:
        call = CallState(peer, correlation_id, user_id)
        for r in self.starting:
            r.started(call, metadata)
        return call

    # -- the server edge's hook (libs/edge): the same events, on the edge's call --------

    def begin(self, call: CallState, context: Any) -> None:
        """Bind the call's correlation and (claimed) user id and start every signal. The
        echo header goes back only to a caller that did not send the id (so cannot know
        it): it costs a metadata batch of its own, which callers that know it don't pay."""
        cid, uid, echo = bind_incoming(call.metadata)
        call.correlation_id = cid
        call.user_id = uid
        if echo:
            call.headers = ((CORRELATION_HEADER, cid),)
        for r in self.starting:
            r.started(call, call.metadata)

    def end(self, call: CallState, code: grpc.StatusCode, details: str | None) -> None:
        self.finish(call, code, details)

    def received(self, call: CallState, message: Any = None) -> None:
        call.received += 1
        if self.sizes and message is not None:
            call.rcvd_bytes += message_size(message)
        for r in self.receivers:
            r.message_received(call)

    def sent(self, call: CallState, message: Any = None) -> None:
        call.sent += 1
        if self.sizes and message is not None:
            call.sent_bytes += message_size(message)
        for r in self.senders:
            r.message_sent(call)

    def finish(self, call: CallState, code: grpc.StatusCode, details: str | None = None) -> None:
        duration = time.perf_counter() - call.start
        for r in self.finishing:
            r.finished(call, code, duration, details)


def message_size(message: Any) -> int:
    """Serialized size of a protobuf message (what goes on the wire uncompressed); raw
    bytes of a generic handler count as they are; anything else 0."""
    try:
        return int(message.ByteSize())
    except AttributeError:
        return len(message) if isinstance(message, (bytes, bytearray, memoryview)) else 0


class NoopReporter:
    """Base with empty hooks; subclasses override what they observe."""

    def started(self, call: CallState, metadata: dict[str, Any]) -> None:
        pass

    def message_received(self, call: CallState) -> None:
        pass

    def message_sent(self, call: CallState) -> None:
        pass

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        pass


def _overrides(reporter: Any, hook: str) -> bool:
    return getattr(type(reporter), hook, None) is not getattr(NoopReporter, hook)
