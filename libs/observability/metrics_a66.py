"""gRFC A66 RPC metrics (gRPC's own OpenTelemetry instruments) under the names Prometheus
sees from grpc-go / grpc-java / grpc-cpp / grpcio-observability through the OpenTelemetry
Prometheus exporter (dots to underscores, unit suffix, `_total` on counters):

A66 instrument (unit) -> Prometheus family {labels}:
- grpc.server.call.started -> grpc_server_call_started_total {grpc_method}
- grpc.server.call.duration (s) -> grpc_server_call_duration_seconds {grpc_method, grpc_status}
- grpc.server.call.sent_total_compressed_message_size (By) ->
  grpc_server_call_sent_total_compressed_message_size_bytes {grpc_method, grpc_status}
- grpc.server.call.rcvd_total_compressed_message_size (By) ->
  grpc_server_call_rcvd_total_compressed_message_size_bytes {grpc_method, grpc_status}
- grpc.client.attempt.started -> grpc_client_attempt_started_total {grpc_method, grpc_target}
- grpc.client.attempt.duration (s) -> grpc_client_attempt_duration_seconds
  {grpc_method, grpc_target, grpc_status}
- grpc.client.call.duration (s) -> grpc_client_call_duration_seconds
  {grpc_method, grpc_target, grpc_status}

Checked against gRFC A66 and against a real grpcio-observability 1.85.0 run (its exposition
is tests/unit/observability/a66_grpcio_observability.txt; it also adds otel_scope_* labels,
which dashboards do not select on). Values: grpc_method "pkg.Service/Method" (no leading
slash), "other" for methods the server does not register; grpc_status the status code name
("OK", "INVALID_ARGUMENT"); grpc_target the channel's canonical host:port, bounded.

Fed by the same per-call reporter as the go-grpc-prometheus families (metrics_reporter.py),
not by a second interceptor. What differs from a C-core plugin and why:
- Message sizes are the serialized protobuf sizes (`ByteSize()`), i.e. uncompressed: we do
  not compress, so that is what goes on the wire (before HTTP/2 framing).
- The client interceptor sits above gRPC's retry layer and sees one call: an attempt is the
  call (attempt.started = calls started, attempt.duration = call.duration). With retries
  (the runtime's retry policy) A66 would count each try; ours counts the call once.
- Client message sizes (attempt.*_compressed_message_size) are not recorded: the client
  hot path would pay a second serialization for them and no dashboard of ours uses them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from prometheus_client import CollectorRegistry, Counter, Histogram

from libs.edge.callmeta import CallMeta
from libs.observability.buckets import A66_SIZE_BYTES, RPC_SECONDS
from libs.observability.codes import UPPER_NAME

OTHER = "other"
_MAX_TARGETS = 16


def canonical_target(target: str | None) -> str:
    """`dns:///tasks:50051`, `ipv4:10.0.0.1:50051` → the `host:port` gRPC connects to."""
    if not target:
        return OTHER
    text = target
    for prefix in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
            break
    if "://" in text or text.startswith("unix:"):
        return OTHER  # unix sockets and other schemes: not a host:port
    return text.split(",")[0] or OTHER


class A66Metrics:
    """The A66 families of one registry; `method(meta, target)` gives a call's children."""

    def __init__(self, registry: CollectorRegistry,
                 buckets: tuple[float, ...] = RPC_SECONDS) -> None:
        self.server_started = Counter(
            "grpc_server_call_started", "The total number of RPCs started, including those "
            "that have not completed.", ["grpc_method"], registry=registry)
        self.server_duration = Histogram(
            "grpc_server_call_duration_seconds", "End-to-end time taken to complete a call "
            "from server transport's perspective.", ["grpc_method", "grpc_status"],
            buckets=buckets, registry=registry)
        self.server_sent = Histogram(
            "grpc_server_call_sent_total_compressed_message_size_bytes",
            "Total bytes (compressed but not encrypted) sent across all response messages "
            "per RPC (serialized sizes: we do not compress).", ["grpc_method", "grpc_status"],
            buckets=A66_SIZE_BYTES, registry=registry)
        self.server_rcvd = Histogram(
            "grpc_server_call_rcvd_total_compressed_message_size_bytes",
            "Total bytes (compressed but not encrypted) received across all request messages "
            "per RPC (serialized sizes: we do not compress).", ["grpc_method", "grpc_status"],
            buckets=A66_SIZE_BYTES, registry=registry)
        client = ["grpc_method", "grpc_target"]
        self.attempt_started = Counter(
            "grpc_client_attempt_started", "The total number of RPC attempts started, "
            "including those that have not completed.", client, registry=registry)
        self.attempt_duration = Histogram(
            "grpc_client_attempt_duration_seconds", "End-to-end time taken to complete an RPC "
            "attempt including the time it takes to pick a subchannel.",
            [*client, "grpc_status"], buckets=buckets, registry=registry)
        self.call_duration = Histogram(
            "grpc_client_call_duration_seconds", "Time taken by gRPC to complete an RPC from "
            "application's perspective.", [*client, "grpc_status"], buckets=buckets,
            registry=registry)
        self._targets: set[str] = set()

    def target_label(self, target: str | None) -> str:
        """The bounded grpc_target: the first few canonical targets (the runtime builds one
        client pipeline per configured address), later ones `other`."""
        value = canonical_target(target)
        if value in self._targets:
            return value
        if value != OTHER and len(self._targets) < _MAX_TARGETS:
            self._targets.add(value)
            return value
        return OTHER

    def method(self, meta: CallMeta, method_label: str, target: str | None) -> A66Method:
        return A66Method(self, meta, method_label, target)


class A66Method:
    """A66 children of one method; per status they are made on first use (17 codes x
    buckets per method up front would be thousands of idle series)."""

    __slots__ = ("_by_code", "_labels", "_metrics", "inc_started", "is_server")

    def __init__(self, metrics: A66Metrics, meta: CallMeta, method_label: str,
                 target: str | None) -> None:
        from libs.observability.metrics import fast_inc  # metrics.py imports this module

        self._metrics = metrics
        self.is_server = not meta.is_client
        if self.is_server:
            self._labels: tuple[str, ...] = (method_label,)
            self.inc_started = fast_inc(metrics.server_started.labels(method_label))
        else:
            self._labels = (method_label, metrics.target_label(target))
            self.inc_started = fast_inc(metrics.attempt_started.labels(*self._labels))
        self._by_code: dict[grpc.StatusCode, tuple[Callable[..., None], ...]] = {}

    def _children(self, code: grpc.StatusCode) -> tuple[Callable[..., None], ...]:
        from libs.observability.metrics import FastHistogram

        labels = (*self._labels, UPPER_NAME[code])
        m = self._metrics
        if self.is_server:
            found: tuple[Callable[..., None], ...] = (
                FastHistogram(m.server_duration.labels(*labels)).observe,
                FastHistogram(m.server_sent.labels(*labels)).observe,
                FastHistogram(m.server_rcvd.labels(*labels)).observe,
            )
        else:
            found = (
                FastHistogram(m.attempt_duration.labels(*labels)).observe,
                FastHistogram(m.call_duration.labels(*labels)).observe,
            )
        self._by_code[code] = found
        return found

    def finished(self, call: Any, code: grpc.StatusCode, duration: float,
                 trace_id: str | None) -> None:
        children = self._by_code.get(code) or self._children(code)
        if self.is_server:
            children[0](duration, trace_id)
            children[1](call.sent_bytes)
            children[2](call.rcvd_bytes)
        else:
            children[0](duration, trace_id)
            children[1](duration, trace_id)


__all__ = ["A66Method", "A66Metrics", "canonical_target"]
