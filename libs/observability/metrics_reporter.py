"""The metrics signal of the per-call reporter (go-grpc-prometheus semantics)."""

from __future__ import annotations

from typing import Any

import grpc

from libs.observability.callmeta import CallMeta
from libs.observability.metrics import MethodMetrics, RpcMetrics
from libs.observability.reporter import CallState, NoopReporter


class MetricsReporter(NoopReporter):
    __slots__ = (
        "finished_by_code",
        "inc_received",
        "inc_sent",
        "inc_started",
        "observe",
        "stream_dec",
        "stream_inc",
    )

    def __init__(self, m: MethodMetrics) -> None:
        self.inc_started = m.inc_started
        self.stream_inc = m.stream_inc
        self.stream_dec = m.stream_dec
        self.observe = m.observe
        self.finished_by_code = m.finished_by_code
        self.inc_received = m.inc_received
        self.inc_sent = m.inc_sent

    def started(self, call: CallState, metadata: dict[str, Any]) -> None:
        self.inc_started()
        if self.stream_inc is not None:
            self.stream_inc()

    def message_received(self, call: CallState) -> None:
        self.inc_received()

    def message_sent(self, call: CallState) -> None:
        self.inc_sent()

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        ids = call.trace_ids()
        self.observe(duration, ids[0] if ids is not None and ids[2] else None)
        for inc in self.finished_by_code[code]:
            inc()
        if self.stream_dec is not None:
            self.stream_dec()


class MetricsReporterFactory:
    def __init__(self, metrics: RpcMetrics) -> None:
        self.metrics = metrics

    def for_method(self, meta: CallMeta) -> MetricsReporter:
        return MetricsReporter(self.metrics.method(meta))
