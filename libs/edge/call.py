"""What one call carries between the edge's events (shared by every hook of the call)."""

from __future__ import annotations

import time
from typing import Any


class CallState:
    """Per-call state. Hooks read what the edge and earlier hooks filled in: `metadata`
    (a dict of the invocation metadata), `raw_metadata` (grpc's pairs, duplicates kept),
    `correlation_id` / `user_id` (bound by observability, overridden by security when
    authentication decides who the caller is), and may ask for `headers` (initial metadata
    the edge sends once, after every hook began). On the client side hooks edit `outgoing`
    (metadata pairs) and `timeout`, which the call then goes out with."""

    __slots__ = (
        "correlation_id", "ends", "error", "headers", "ids", "metadata", "outgoing", "peer",
        "raw_metadata", "rcvd_bytes", "received", "sent", "sent_bytes", "span", "start",
        "timeout", "user_id",
    )

    def __init__(self, peer: tuple[str, int | None], correlation_id: str | None = None,
                 user_id: str | None = None, raw_metadata: Any = None) -> None:
        self.start = time.perf_counter()
        self.peer = peer
        self.correlation_id = correlation_id
        self.user_id = user_id
        self.raw_metadata = raw_metadata or ()
        self.metadata: dict[str, Any] = dict(raw_metadata) if raw_metadata else {}
        self.headers: tuple[tuple[str, str], ...] = ()
        # client calls: the metadata and timeout the call goes out with (hooks change them)
        self.outgoing: Any = None
        self.timeout: float | None = None
        self.ends: Any = None  # the `end` hooks of a rejected call (those that began)
        self.span: Any = None
        self.ids: Any = False  # False = not computed yet
        self.error: BaseException | None = None
        self.received = 0
        self.sent = 0
        # serialized bytes of all messages (only counted when a reporter wants_sizes)
        self.rcvd_bytes = 0
        self.sent_bytes = 0

    def trace_ids(self) -> tuple[str, str, bool] | None:
        """(trace_id, span_id, sampled) of the call's span, None without a valid one."""
        ids = self.ids
        if ids is not False:
            return ids  # type: ignore[no-any-return]
        span = self.span
        ctx = None if span is None else span.get_span_context()
        if ctx is None or not ctx.is_valid:
            self.ids = None
        else:
            self.ids = (
                format(ctx.trace_id, "032x"), format(ctx.span_id, "016x"), ctx.trace_flags.sampled
            )
        return self.ids  # type: ignore[no-any-return]
