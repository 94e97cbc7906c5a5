"""libs.observability — the ONE gRPC observability layer: metrics, spans, logs, correlation,
errors, all fed by one per-call reporter behind server/client interceptors (sync and aio).

Facade (what `libs/runtime` calls)::

    import libs.observability as observability
    obs = observability.setup("computer", version="1.0.0", environment="production",
                              log_level="info", log_dir=None, registry=None)
    server = grpc.aio.server(interceptors=obs.aio_server_interceptors())
    obs.precreate(["bytebot.computer.v1.ComputerService"])   # zero series from the first scrape
    channel = grpc.aio.insecure_channel(target,
                                        interceptors=obs.aio_client_interceptors(target))
    body, content_type = obs.render_metrics(request_accept_header)   # GET /metrics
    lag_task = obs.start_eventloop_lag_monitor()                      # asyncio services
    obs.shutdown()                                                    # flush spans

`setup` configures logging (`libs.observability.logging`) and tracing
(`libs.observability.tracing`, from OTEL_*) for the process and builds the RPC metrics in
`obs.registry` (a new `CollectorRegistry` with process/platform/gc collectors unless one is
given). Sync servers/channels use `obs.server_interceptors()` / `obs.client_interceptors()`
(`grpc.intercept_channel(channel, *obs.client_interceptors(target))`).

Application code uses the modules directly: `errors` (raise InvalidArgument(...)),
`correlation` (get_correlation_id, correlation_scope), `logging` (get_logger), `tracing`
(traced, inject_context, extract_context), `metrics` (LabelGuard). See docs/runtime-api.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import grpc
from google.protobuf import descriptor_pool
from prometheus_client import CollectorRegistry, disable_created_metrics

from libs.edge import AioServerEdge, ServerEdge
from libs.edge.callmeta import RpcKind
from libs.edge.client_aio import aio_client_edge
from libs.edge.client_sync import ClientEdge
from libs.observability import logging as obs_logging
from libs.observability import metrics as obs_metrics
from libs.observability import tracing
from libs.observability.access_log import AccessLogReporterFactory
from libs.observability.client_hooks import ClientObserverHooks
from libs.observability.filters import DEFAULT_FILTER, Filter
from libs.observability.interceptors._common import parse_target
from libs.observability.metrics_reporter import MetricsReporterFactory
from libs.observability.pipeline import Pipeline
from libs.observability.spans import SpanReporterFactory

__all__ = ["Observability", "client_peer", "setup"]


def client_peer(target: str | None) -> tuple[str, int | None]:
    """(server.address, server.port) of a channel target, for client calls' signals."""
    address, port = parse_target(target)
    return address or "unknown", port


class Observability:
    """One process's observability: registry, interceptor factories, exposition, shutdown."""

    def __init__(
        self,
        service_name: str,
        registry: CollectorRegistry,
        *,
        slow_call_seconds: float = 1.0,
        observe: Filter = DEFAULT_FILTER,
        buckets: tuple[float, ...] | None = None,
        go_names: bool = True,
        a66: bool = True,
    ) -> None:
        self.service_name = service_name
        self.registry = registry
        # go-grpc-prometheus and gRFC A66 families, each optional (metrics_*_enabled settings)
        self.metrics = (
            obs_metrics.RpcMetrics(registry, buckets, go_names=go_names, a66=a66)
            if buckets
            else obs_metrics.RpcMetrics(registry, go_names=go_names, a66=a66)
        )
        self._observe = observe
        self._slow = slow_call_seconds
        self.server_pipeline = Pipeline(
            [
                SpanReporterFactory(),
                MetricsReporterFactory(self.metrics),
                AccessLogReporterFactory(slow_call_seconds),
            ],
            is_client=False,
            observe=observe,
        )
        self._client_pipelines: dict[str | None, Pipeline] = {}
        self._lag_gauge: Any = None

    # -- interceptors -------------------------------------------------------------------

    def server_hooks(self) -> list[Any]:
        """Observability's place in the server edge's chain (libs/edge): first, so it sees
        every other hook's rejection as the call's status."""
        return [self.server_pipeline]

    def server_interceptors(self) -> list[grpc.ServerInterceptor]:
        return [ServerEdge(self.server_hooks())]

    def aio_server_interceptors(self) -> list[Any]:
        return [AioServerEdge(self.server_hooks())]

    def client_pipeline(self, target: str | None = None) -> Pipeline:
        pipeline = self._client_pipelines.get(target)
        if pipeline is None:
            address, port = parse_target(target)
            pipeline = Pipeline(
                [
                    SpanReporterFactory(address, port),
                    MetricsReporterFactory(self.metrics, target),
                    AccessLogReporterFactory(self._slow),
                ],
                is_client=True,
                observe=self._observe,
            )
            self._client_pipelines[target] = pipeline
        return pipeline

    def client_hooks(self, target: str | None = None) -> list[Any]:
        """Observability's place in the client edge's chain (libs/edge): last, so the span
        and the access line see the metadata and deadline the call really goes out with."""
        return [ClientObserverHooks(self.client_pipeline(target))]

    def client_interceptors(self, target: str | None = None) -> list[Any]:
        return [ClientEdge(self.client_hooks(target), client_peer(target))]

    def aio_client_interceptors(self, target: str | None = None) -> list[Any]:
        return aio_client_edge(self.client_hooks(target), client_peer(target))

    # -- metrics ------------------------------------------------------------------------

    def precreate(self, service_full_names: Iterable[str]) -> None:
        """Create the zero series of every method of these services (handled_total for all
        17 codes), so `rate()` and absence alerts work from the first scrape. The services'
        generated `_pb2` modules must be imported (they register the descriptors)."""
        pool = descriptor_pool.Default()
        methods: list[tuple[str, RpcKind]] = []
        for name in service_full_names:
            service = pool.FindServiceByName(name)
            for m in service.methods:
                kind = RpcKind.of(m.client_streaming, m.server_streaming)
                methods.append((f"/{service.full_name}/{m.name}", kind))
        from libs.edge.callmeta import call_meta

        self.metrics.register(call_meta(path, kind, False) for path, kind in methods)
        self.server_pipeline.precreate(methods)

    def render_metrics(self, accept_header: str | None = None) -> tuple[bytes, str]:
        """(body, content type) for GET /metrics: OpenMetrics with exemplars if accepted."""
        return obs_metrics.render(self.registry, accept_header)

    def start_eventloop_lag_monitor(self, interval: float = 0.5) -> asyncio.Task[None]:
        """Start `bytebot_eventloop_lag_seconds` sampling on the running loop (cancel the
        returned task on shutdown)."""
        if self._lag_gauge is None:
            self._lag_gauge = obs_metrics.eventloop_lag_gauge(self.registry)
        return obs_metrics.start_eventloop_lag_monitor(self._lag_gauge, interval)

    # -- lifecycle ----------------------------------------------------------------------

    def shutdown(self) -> None:
        """Export pending spans and stop the tracer provider."""
        tracing.shutdown()


def setup(
    service_name: str,
    version: str = "0.0.0",
    environment: str = "development",
    log_level: str = "info",
    log_dir: str | Path | None = None,
    registry: CollectorRegistry | None = None,
    *,
    log_stream: TextIO | None = None,
    span_exporters: list[Any] | None = None,
    span_processor: str = "batch",
    sampler: Any = None,
    slow_call_seconds: float = 1.0,
    observe: Filter = DEFAULT_FILTER,
    go_names: bool = True,
    a66: bool = True,
) -> Observability:
    """Configure logs and traces for this process and build its RPC observability.

    `span_exporters` overrides the OTEL_* exporter choice (tests: an in-memory exporter with
    `span_processor="simple"`). `go_names` / `a66` turn the go-grpc-prometheus and the
    gRFC A66 RPC metric families on or off. A given `registry` is used as is (no collectors added).
    """
    obs_logging.configure(service_name, version, environment, log_level, log_dir, log_stream)
    tracing.configure(
        service_name, version, environment,
        exporters=span_exporters, processor=span_processor, sampler=sampler,
    )
    # Go's exposition has no `_created` series; they would double every counter's output.
    disable_created_metrics()
    if registry is None:
        registry = CollectorRegistry()
        obs_metrics.add_runtime_collectors(registry)
    return Observability(
        service_name, registry, slow_call_seconds=slow_call_seconds, observe=observe,
        go_names=go_names, a66=a66,
    )
