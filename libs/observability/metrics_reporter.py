"""The metrics signal of the per-call reporter (go-grpc-prometheus semantics)."""

from __future__ import annotations

from typing import Any

import grpc

from libs.observability.callmeta import CallMeta
from libs.observability.metrics import MethodMetrics, RpcMetrics
from libs.observability.reporter import CallState, NoopReporter


class MetricsReporter(NoopReporter):
    __slots__ = ("m",)

    def __init__(self, m: MethodMetrics) -> None:
        self.m = m

    def started(self, call: CallState, metadata: dict[str, Any]) -> None:
        self.m.started.inc()
        if self.m.stream_gauge is not None:
            self.m.stream_gauge.inc()

    def message_received(self, call: CallState) -> None:
        self.m.msg_received.inc()

    def message_sent(self, call: CallState) -> None:
        self.m.msg_sent.inc()

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        m = self.m
        ids = call.trace_ids()
        if ids is not None and ids[2]:
            m.histogram.observe(duration, {"trace_id": ids[0]})
        else:
            m.histogram.observe(duration)
        m.handled_by_code[code].inc()
        if m.is_server:
            m.api_by_code[code].inc()
            if m.stream_gauge is not None:
                m.stream_gauge.dec()


class MetricsReporterFactory:
    def __init__(self, metrics: RpcMetrics) -> None:
        self.metrics = metrics

    def for_method(self, meta: CallMeta) -> MetricsReporter:
        return MetricsReporter(self.metrics.method(meta))
