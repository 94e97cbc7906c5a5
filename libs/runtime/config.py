"""Service settings: one pydantic-settings class per service, filled from defaults, then
`BYTEBOT_<FIELD>` environment variables, then explicit overrides (CLI flags, tests).

    class ComputerSettings(ServiceSettings):
        grpc_port: Port = SERVICE.grpc_port        # the registry entry's ports
        http_port: Port = SERVICE.http_port
        display: str | None = None

    settings = load_settings(ComputerSettings, overrides={"grpc_port": 0})
    settings.security.auth_mode                    # composed: BYTEBOT_AUTH_MODE

Types and constraints are the validation (libs/env_settings.py: `Port`, `Interval`,
`CommaList`, `JsonObject`, `Literal` modes…); a bad value fails with one `SettingsError` that
names the variable and the value, `BYTEBOT_GRPC_PORT='abc': not an integer`, so a typo in a
Kubernetes manifest is a clear start-up error instead of a crash deep inside a service.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import metadata
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field

from libs.env_settings import (
    ENV_PREFIX,
    EnvSettings,
    Folded,
    Interval,
    Port,
    PositiveInt,
    Seconds,
    SettingsError,
    env_name,
    field_names,
    load,
)
from libs.security.settings import SecuritySettings

DISTRIBUTION = "bytebot-backend"
FALLBACK_VERSION = "0.1.0"

# The names libs.observability.logging.configure() knows (a test keeps them equal).
LogLevel = Literal["debug", "info", "warn", "warning", "error", "exception", "critical", "fatal"]


def package_version() -> str:
    """The installed `bytebot-backend` version (what `/health/live` and logs report)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


class ServiceSettings(EnvSettings):
    """Settings every service has. Services subclass this, take their ports from their
    registry entry (libs.runtime.registry.ServiceDefinition) and add fields; every field is a
    `BYTEBOT_<FIELD>` environment variable, the security ones included."""

    # Authentication, authorisation, TLS, rate limits (libs.security): a field, not a base.
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    # 127.0.0.1 by default so a laptop run exposes nothing; containers set
    # BYTEBOT_GRPC_HOST=0.0.0.0 / BYTEBOT_HTTP_HOST=0.0.0.0 so kubelet probes reach the pod IP.
    grpc_host: str = "127.0.0.1"
    # A service's ports are its registry entry's; a settings class without one (tests,
    # `bytebot serve pkg:ENTRY`) listens on free ports.
    grpc_port: Port = 0
    http_host: str = "127.0.0.1"
    http_port: Port = 0
    environment: str = "development"
    version: str = Field(default_factory=package_version)
    log_level: Annotated[LogLevel, Folded] = "info"
    log_dir: str | None = None
    # In-flight RPCs get this long to finish after SIGTERM before they are cancelled.
    shutdown_grace_seconds: Seconds = 10.0
    # After readiness flips to NOT_SERVING and before the server stops accepting calls:
    # time for load balancers / kubelet to notice and stop sending new work.
    shutdown_propagation_seconds: Seconds = 1.0
    # Readiness checks run in the background at this interval; an on-demand probe re-runs
    # them when the cached result is older than this.
    health_check_interval_seconds: Interval = 5.0
    # A single readiness check that takes longer than this counts as failed.
    health_check_timeout_seconds: Seconds = 2.0
    # /health/live (and the liveness watchdog) report failure when the event loop has not
    # run a heartbeat for this long: the process is stuck, a restart is the remedy.
    liveness_stall_seconds: Interval = 30.0
    # Screenshots are a few MB; gRPC's 4 MiB default receive limit is too tight.
    max_message_bytes: PositiveInt = 32 * 1024 * 1024
    # Server keepalive pings on idle connections (seconds); clients may ping every 10 s.
    keepalive_time_seconds: Interval = 60.0
    keepalive_timeout_seconds: Interval = 20.0
    # RPC metric families on /metrics: the go-grpc-prometheus names (grpc_server_handled_total,
    # grpc_server_handling_seconds, …) and the gRFC A66 names grpc-go/java/cpp and
    # grpcio-observability export (grpc_server_call_duration_seconds, …). Either can be off.
    metrics_go_names_enabled: bool = True
    metrics_a66_enabled: bool = True


S = TypeVar("S", bound=ServiceSettings)


def load_settings(
    cls: type[S],
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> S:
    """Defaults, then `BYTEBOT_<FIELD>` environment variables, then `overrides` (flat names:
    `{"auth_mode": "token"}` sets `settings.security.auth_mode`). SettingsError if bad."""
    return load(cls, overrides, environ)


def parse_assignments(pairs: list[str] | None) -> dict[str, str]:
    """`["key=value", ...]` (the CLI's `--set`) → dict; a clear error for a missing `=`."""
    result: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise SettingsError(f"--set {pair!r}: expected key=value")
        result[key.strip()] = value
    return result


__all__ = [
    "ENV_PREFIX",
    "LogLevel",
    "ServiceSettings",
    "SettingsError",
    "env_name",
    "field_names",
    "load_settings",
    "package_version",
    "parse_assignments",
]
