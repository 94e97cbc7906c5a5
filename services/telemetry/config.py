"""Settings of the telemetry service (every field is a `BYTEBOT_<FIELD>` environment variable).

    BYTEBOT_SERVICES='{"tasks-api": "tasks-api:50051", "computer": "computer:50053"}'
    BYTEBOT_METRICS_URLS='{"tasks-api": "http://tasks-api:9464/metrics"}'
    BYTEBOT_PROMETHEUS_URL=http://prometheus:9090
"""

from __future__ import annotations

from typing import Annotated

from bytebot.telemetry.v1 import telemetry_pb2
from pydantic import Field

from libs.env_settings import Interval, JsonObject, NonNegativeInt, Port, PositiveInt
from libs.runtime.config import ServiceSettings
from libs.runtime.registry import ServiceDefinition
from libs.stack.layout import grpc_targets, metrics_urls

# The registration (pyproject [project.entry-points."bytebot.services"], libs.runtime.registry)
SERVICE = ServiceDefinition(
    name="telemetry",
    grpc_port=50055,
    http_port=9468,
    entry="services.telemetry.main:ENTRY",
    grpc_services=(telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"].full_name,),
    prometheus_job="bytebot-telemetry",
    address_env="BYTEBOT_TELEMETRY_ADDRESS",
)


# a gRPC target: host:port (empty is no target)
Target = Annotated[str, Field(min_length=1)]


class TelemetrySettings(ServiceSettings):
    grpc_port: Port = SERVICE.grpc_port
    http_port: Port = SERVICE.http_port
    # The fleet: service name → gRPC target probed through grpc.health.v1. The order is the
    # order of every answer. Default: the local stack (`bytebot up`).
    services: JsonObject[Target] = Field(default_factory=grpc_targets, min_length=1)
    # Service name → its /metrics URL, scraped for the SLO report when no Prometheus is set.
    metrics_urls: JsonObject[str] = Field(default_factory=metrics_urls)
    # One health Check (one probe of one service) gives up after this long → UNREACHABLE.
    probe_timeout_seconds: Interval = 1.0
    # The background probe loop (readiness, the fleet gauges) checks the fleet this often.
    probe_interval_seconds: Interval = 5.0
    # A Prometheus server (http://host:9090): the SLO report queries it instead of scraping.
    prometheus_url: str | None = None
    # The label selector that picks the stack's series in Prometheus (the scrape jobs of
    # deploy/prometheus and of `bytebot up --with-prometheus` are named bytebot-…).
    prometheus_selector: str = 'job=~"bytebot.*"'
    prometheus_timeout_seconds: Interval = 5.0
    # One /metrics scrape gives up after this long (the service then has no data).
    scrape_timeout_seconds: Interval = 2.0
    # The SLO sampler scrapes /metrics this often and keeps a day of compact samples, so a
    # report over a window subtracts the sample taken at the window's start.
    slo_sample_interval_seconds: Interval = 15.0
    # Memory usage = resident memory / this limit (a container's memory limit). 0: the
    # machine's physical memory.
    memory_limit_bytes: NonNegativeInt = 0
    # CPU usage = CPU seconds per second / this many cores (a container's CPU limit).
    cpu_limit_cores: Interval = 1.0
    # RecordEvents token bucket, per (source, peer host): sustained events/s and burst.
    events_rate_per_second: Interval = 100.0
    events_burst: PositiveInt = 1000
    # Distinct event names kept as metric label values (the rest count as "other").
    event_name_label_cap: NonNegativeInt = 100
