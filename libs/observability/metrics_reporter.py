"""The metrics signal of the per-call reporter: the go-grpc-prometheus families and the
gRFC A66 families (metrics_a66.py) from the same events, each family optional."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc

from libs.edge.callmeta import CallMeta
from libs.observability.metrics import MethodMetrics, RpcMetrics
from libs.observability.reporter import CallState, NoopReporter


class MetricsReporter(NoopReporter):
    __slots__ = (
        "a66",
        "finished_by_code",
        "inc_received",
        "inc_sent",
        "observe",
        "starting",
        "stream_dec",
        "wants_sizes",
    )

    def __init__(self, m: MethodMetrics) -> None:
        # started: go's started counter, the stream gauge, A66's started counter (those on)
        self.starting: tuple[Callable[[], None], ...] = tuple(
            f for f in (m.inc_started, m.stream_inc, m.a66 and m.a66.inc_started)
            if f is not None
        )
        self.stream_dec = m.stream_dec
        self.observe = m.observe
        self.finished_by_code = m.finished_by_code
        self.inc_received = m.inc_received
        self.inc_sent = m.inc_sent
        self.a66 = m.a66
        # A66's server message-size histograms need the messages' sizes (MethodObserver).
        self.wants_sizes = m.a66 is not None and m.a66.is_server

    def started(self, call: CallState, metadata: dict[str, Any]) -> None:
        for inc in self.starting:
            inc()

    def message_received(self, call: CallState) -> None:
        if self.inc_received is not None:
            self.inc_received()

    def message_sent(self, call: CallState) -> None:
        if self.inc_sent is not None:
            self.inc_sent()

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        ids = call.trace_ids()
        trace_id = ids[0] if ids is not None and ids[2] else None
        if self.observe is not None:
            self.observe(duration, trace_id)
        for inc in self.finished_by_code[code]:
            inc()
        if self.a66 is not None:
            self.a66.finished(call, code, duration, trace_id)
        if self.stream_dec is not None:
            self.stream_dec()


class MetricsReporterFactory:
    def __init__(self, metrics: RpcMetrics, target: str | None = None) -> None:
        self.metrics = metrics
        self.target = target  # the client channel's target (A66 grpc_target)

    def for_method(self, meta: CallMeta) -> MetricsReporter:
        return MetricsReporter(self.metrics.method(meta, self.target))
