"""TelemetryService: fleet health, the SLO report and client events (see the proto)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

from bytebot.telemetry.v1 import telemetry_pb2 as pb
from bytebot.telemetry.v1 import telemetry_pb2_grpc
from google.protobuf.duration_pb2 import Duration
from google.protobuf.timestamp_pb2 import Timestamp
from prometheus_client import CollectorRegistry, Gauge

from libs.observability.logging import get_logger
from libs.runtime.supervised_loop import BackgroundLoops
from libs.status.errors import (
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    ResourceExhausted,
)
from services.telemetry import slo
from services.telemetry.config import TelemetrySettings
from services.telemetry.events import MAX_EVENTS, MAX_REQUEST_BYTES, EventRecorder
from services.telemetry.fleet import (
    PROBES,
    FleetProber,
    FleetState,
    fill_response,
    probe_channel_factory,
)
from services.telemetry.metrics_source import MetricsSource
from services.telemetry.prometheus_source import PrometheusSource

log = get_logger(__name__)

WATCH_DEFAULT_S = 5.0
WATCH_MIN_S, WATCH_MAX_S = 1.0, 300.0
WINDOW_DEFAULT_S = 300.0
WINDOW_MIN_S, WINDOW_MAX_S = 60.0, 86_400.0


def _seconds(d: Duration) -> float:
    return d.seconds + d.nanos / 1e9


def _bounded_duration(
    request: Any, field: str, default: float, low: float, high: float, words: str
) -> float:
    if not request.HasField(field):
        return default
    value = _seconds(getattr(request, field))
    if value == 0:
        return default
    if not low <= value <= high:
        raise InvalidArgument(
            f"invalid {type(request).__name__}",
            [FieldViolation(field, f"must be {words} (or unset), got {value:g}s")],
        )
    return value


class TelemetryServicer(telemetry_pb2_grpc.TelemetryServiceServicer):
    def __init__(
        self,
        settings: TelemetrySettings,
        registry: CollectorRegistry,
        loops: BackgroundLoops | None = None,
    ) -> None:
        self.settings = settings
        # TLS probes when the fleet serves TLS (health itself needs no token)
        self.prober = FleetProber(
            settings.services,
            timeout=settings.probe_timeout_seconds,
            channel_factory=probe_channel_factory(settings.security),
        )
        self.metrics = MetricsSource(
            settings.metrics_urls,
            timeout=settings.scrape_timeout_seconds,
            memory_limit_bytes=settings.memory_limit_bytes,
            cpu_limit_cores=settings.cpu_limit_cores,
            sample_interval_s=settings.slo_sample_interval_seconds,
        )
        self.prometheus = (
            PrometheusSource(settings.prometheus_url, settings.prometheus_timeout_seconds)
            if settings.prometheus_url
            else None
        )
        self.events = EventRecorder(
            registry,
            settings.events_rate_per_second,
            settings.events_burst,
            settings.event_name_label_cap,
        )
        # One series per configured service (and probe): bounded by the configuration.
        self._ready_gauge = Gauge(
            "bytebot_fleet_service_ready",
            "1 when the service's readiness probe answered SERVING at the last probe round.",
            ["service"],
            registry=registry,
        )
        self._probe_gauge = Gauge(
            "bytebot_fleet_probe_serving",
            "1 when the probe answered SERVING at the last probe round.",
            ["service", "probe"],
            registry=registry,
        )
        self.last_state: FleetState | None = None
        self._last_round_at: float | None = None  # monotonic
        self._loop_task: asyncio.Task[None] | None = None
        self._sampler_task: asyncio.Task[None] | None = None
        # Supervised loops (libs.runtime.supervised_loop): a failing round is logged safely,
        # counted in bytebot_background_loop_failures_total{loop} and backed off, never the
        # end of the loop. Not readiness inputs themselves: `check_probe_loop` (round age)
        # already is one for the probe, and the sampler only thins the SLO history.
        loops = loops or BackgroundLoops(None)
        interval = settings.probe_interval_seconds
        self._probe_loop = loops.add(
            "fleet_probe", self._probe_tick, readiness=False, interval=interval,
            backoff_initial=interval, backoff_max=max(interval, 30.0),
        )
        self._sampler_loop = loops.add(
            "slo_sampler", self._sample_tick, readiness=False,
            interval=settings.slo_sample_interval_seconds,
            backoff_max=max(settings.slo_sample_interval_seconds, 30.0),
        )

    # --- background: the probe loop (readiness, gauges) and the SLO sampler ------------

    async def _probe_round(self) -> None:
        state = await self.prober.check()
        previous = self.last_state
        self.last_state = state
        self._last_round_at = time.monotonic()
        for service in state.services:
            self._ready_gauge.labels(service=service.name).set(
                1 if service.status == pb.SERVING_STATUS_SERVING else 0
            )
            for probe in service.probes:
                self._probe_gauge.labels(service=service.name, probe=probe.probe).set(
                    1 if probe.status == pb.SERVING_STATUS_SERVING else 0
                )
        if previous is None or previous.change_key() != state.change_key():
            log.info(
                "fleet health changed",
                fleet=pb.FleetStatus.Name(state.status),  # type: ignore[arg-type]
                services={
                    s.name: pb.ServingStatus.Name(s.status)  # type: ignore[arg-type]
                    for s in state.services
                },
            )

    async def _probe_tick(self) -> float:
        # start() ran a round just before the loop starts: wait first, then probe
        await asyncio.sleep(self.settings.probe_interval_seconds)
        await self._probe_round()
        return 0.0

    async def _sample_tick(self) -> None:
        self.metrics.remember(await self.metrics.scrape())

    async def start(self) -> str:
        """Start-up step: one probe round (so readiness has something to judge), then the
        loops. The round's outcome does not matter, only that probing works."""
        await self._probe_round()
        self._loop_task = asyncio.create_task(self._probe_loop.run(), name="fleet-probe")
        if self.prometheus is None:
            self._sampler_task = asyncio.create_task(self._sampler_loop.run(), name="slo-sampler")
        return "probing"

    async def check_probe_loop(self) -> None:
        """Readiness: our own probe loop is alive and recent. A down peer is reported in the
        answers, never inherited (the proto's rule)."""
        if self._loop_task is None or self._loop_task.done():
            raise RuntimeError("the fleet probe loop is not running")
        assert self._last_round_at is not None
        # a round takes at most the probe timeout (probes run concurrently)
        limit = 3 * self.settings.probe_interval_seconds + self.settings.probe_timeout_seconds
        age = time.monotonic() - self._last_round_at
        if age > limit:
            raise RuntimeError(f"the last fleet probe round finished {age:.0f}s ago")

    async def close(self) -> None:
        for task in (self._loop_task, self._sampler_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(BaseException):
                    await task
        await self.prober.close()

    # --- RPCs ----------------------------------------------------------------------

    def _names(self, request: Any) -> list[str]:
        unknown = self.prober.unknown(request.services)
        if unknown:
            known = ", ".join(self.prober.names)
            raise InvalidArgument(
                f"invalid {type(request).__name__}: unknown service name(s)",
                [
                    FieldViolation(f"services[{i}]", f"unknown service {n!r}; known: {known}")
                    for i, n in unknown
                ],
            )
        return list(request.services)

    async def GetSystemHealth(
        self, request: pb.GetSystemHealthRequest, context: Any
    ) -> pb.GetSystemHealthResponse:
        state = await self.prober.check(self._names(request))
        return fill_response(pb.GetSystemHealthResponse(), state)

    async def WatchSystemHealth(
        self, request: pb.WatchSystemHealthRequest, context: Any
    ) -> AsyncIterator[pb.WatchSystemHealthResponse]:
        names = self._names(request)
        interval = _bounded_duration(
            request, "interval", WATCH_DEFAULT_S, WATCH_MIN_S, WATCH_MAX_S, "between 1s and 5m"
        )
        last_key: tuple[object, ...] | None = None
        # Ends when the client leaves: grpc.aio cancels this generator.
        while True:
            started = time.monotonic()
            state = await self.prober.check(names)
            key = state.change_key()
            if key != last_key:
                last_key = key
                yield fill_response(pb.WatchSystemHealthResponse(), state)
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))

    async def GetSloReport(
        self, request: pb.GetSloReportRequest, context: Any
    ) -> pb.GetSloReportResponse:
        window = _bounded_duration(
            request, "window", WINDOW_DEFAULT_S, WINDOW_MIN_S, WINDOW_MAX_S, "between 1m and 24h"
        )
        s = self.settings
        memory_limit = self.metrics.memory_limit_bytes
        queries = {
            spec.name: slo.promql(
                spec, window, s.prometheus_selector if self.prometheus else "",
                memory_limit, s.cpu_limit_cores,
            )
            for spec in slo.INDICATORS
        }
        if self.prometheus is not None:
            values = await self.prometheus.values(queries)
            source = "prometheus"
        else:
            if not self.metrics.urls:
                raise FailedPrecondition(
                    "no metrics source: set BYTEBOT_PROMETHEUS_URL or BYTEBOT_METRICS_URLS"
                )
            values = await self.metrics.values(window)
            source = "metrics"
            if self.metrics.last_errors:
                log.warning("metrics scrape failed", failed=self.metrics.last_errors)
        generated = Timestamp()
        generated.GetCurrentTime()
        return pb.GetSloReportResponse(
            indicators=[
                slo.indicator(spec, values.get(spec.name), queries[spec.name])
                for spec in slo.INDICATORS
            ],
            source=source,
            generated_at=generated,
        )

    async def RecordEvents(
        self, request: pb.RecordEventsRequest, context: Any
    ) -> pb.RecordEventsResponse:
        count = len(request.events)
        if not 1 <= count <= MAX_EVENTS:
            raise InvalidArgument(
                "invalid RecordEventsRequest",
                [FieldViolation("events", f"must hold 1 to {MAX_EVENTS} events, got {count}")],
            )
        size = request.ByteSize()
        if size > MAX_REQUEST_BYTES:
            raise InvalidArgument(
                "invalid RecordEventsRequest",
                [FieldViolation("events", f"the request is {size} bytes; at most 1 MiB")],
            )
        outcome = self.events.record(list(request.events), context.peer())
        if outcome.limited is not None:
            raise ResourceExhausted(outcome.limited)
        return pb.RecordEventsResponse(
            accepted=outcome.accepted,
            rejected=len(outcome.rejections),
            rejections=outcome.rejections,
        )


__all__ = ["PROBES", "TelemetryServicer"]
