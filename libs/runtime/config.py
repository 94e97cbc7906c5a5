"""Service settings: one dataclass per service, filled from defaults, then `BYTEBOT_<FIELD>`
environment variables, then explicit overrides (CLI flags, tests).

    @dataclass
    class ComputerSettings(ServiceSettings):
        grpc_port: int = 50053
        display: str | None = None

    settings = load_settings(ComputerSettings, overrides={"grpc_port": 0})

Values are typed by the annotations (int, float, bool, str, `X | None`, `list[str]` as a
comma-separated list, `dict` as JSON, enums by value or name). A bad value fails with a
`SettingsError` that names the variable, so a typo in a Kubernetes manifest is a clear
start-up error instead of a crash deep inside a service.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from libs.security.settings import SecuritySettings  # issue 9: security settings

ENV_PREFIX = "BYTEBOT_"
DISTRIBUTION = "bytebot-backend"
FALLBACK_VERSION = "0.1.0"


def package_version() -> str:
    """The installed `bytebot-backend` version (what `/health/live` and logs report)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return FALLBACK_VERSION


@dataclass
class ServiceSettings(SecuritySettings):  # libs.security (issue 9): auth, TLS, limits fields
    """Settings every service has. Services subclass this and change defaults (ports) or add
    fields; every field is a `BYTEBOT_<FIELD>` environment variable."""

    # 127.0.0.1 by default so a laptop run exposes nothing; containers set
    # BYTEBOT_GRPC_HOST=0.0.0.0 / BYTEBOT_HTTP_HOST=0.0.0.0 so kubelet probes reach the pod IP.
    grpc_host: str = "127.0.0.1"
    grpc_port: int = 50051
    http_host: str = "127.0.0.1"
    http_port: int = 9464
    environment: str = "development"
    version: str = field(default_factory=package_version)
    log_level: str = "info"
    log_dir: str | None = None
    # In-flight RPCs get this long to finish after SIGTERM before they are cancelled.
    shutdown_grace_seconds: float = 10.0
    # After readiness flips to NOT_SERVING and before the server stops accepting calls:
    # time for load balancers / kubelet to notice and stop sending new work.
    shutdown_propagation_seconds: float = 1.0
    # Readiness checks run in the background at this interval; an on-demand probe re-runs
    # them when the cached result is older than this.
    health_check_interval_seconds: float = 5.0
    # A single readiness check that takes longer than this counts as failed.
    health_check_timeout_seconds: float = 2.0
    # /health/live (and the liveness watchdog) report failure when the event loop has not
    # run a heartbeat for this long: the process is stuck, a restart is the remedy.
    liveness_stall_seconds: float = 30.0
    # Screenshots are a few MB; gRPC's 4 MiB default receive limit is too tight.
    max_message_bytes: int = 32 * 1024 * 1024
    # Server keepalive pings on idle connections (seconds); clients may ping every 10 s.
    keepalive_time_seconds: float = 60.0
    keepalive_timeout_seconds: float = 20.0
    # RPC metric families on /metrics: the go-grpc-prometheus names (grpc_server_handled_total,
    # grpc_server_handling_seconds, …) and the gRFC A66 names grpc-go/java/cpp and
    # grpcio-observability export (grpc_server_call_duration_seconds, …). Either can be off.
    metrics_go_names_enabled: bool = True
    metrics_a66_enabled: bool = True


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


S = TypeVar("S", bound=ServiceSettings)

_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f", ""}


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


def _strip_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        optional = len(args) != len(typing.get_args(tp))
        if len(args) == 1:
            return args[0], optional
        return typing.Union[tuple(args)], optional  # noqa: UP007 - rebuilt from parts
    return tp, False


def parse_value(tp: Any, raw: str) -> Any:
    """Turn the text `raw` into a value of type `tp`; ValueError with a short reason if not."""
    inner, optional = _strip_optional(tp)
    if optional and raw.strip().lower() in ("", "none", "null"):
        return None
    origin = typing.get_origin(inner)
    if inner is bool:
        word = raw.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise ValueError("expected a boolean (true/false, 1/0, yes/no, on/off)")
    if inner is int:
        try:
            return int(raw.strip(), 0) if raw.strip().lower().startswith("0x") else int(raw)
        except ValueError:
            raise ValueError("expected an integer") from None
    if inner is float:
        try:
            return float(raw)
        except ValueError:
            raise ValueError("expected a number") from None
    if inner is str or inner is Any:
        return raw
    if inner is Path:
        return Path(raw)
    if isinstance(inner, type) and issubclass(inner, enum.Enum):
        for member in inner:
            if raw == str(member.value) or raw.upper() == member.name:
                return member
        raise ValueError(f"expected one of {[str(m.value) for m in inner]}")
    if origin is typing.Literal:
        choices = typing.get_args(inner)
        for choice in choices:
            if raw == str(choice):
                return choice
        raise ValueError(f"expected one of {list(choices)}")
    if origin in (list, tuple, set, frozenset) or inner in (list, tuple, set, frozenset):
        args = typing.get_args(inner)
        item_tp = args[0] if args else str
        text = raw.strip()
        if text.startswith("["):
            try:
                items = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"expected a JSON list or comma-separated values: {exc}") from None
            values = [v if not isinstance(v, str) else parse_value(item_tp, v) for v in items]
        else:
            values = [
                parse_value(item_tp, part.strip()) for part in text.split(",") if part.strip()
            ]
        container = origin or inner
        return container(values) if container is not list else values
    if origin is dict or inner is dict:
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"expected a JSON object: {exc}") from None
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        return value
    raise ValueError(f"unsupported setting type {inner!r}")


def _coerce(tp: Any, value: Any) -> Any:
    """Overrides may already be typed (tests pass ints); text is parsed like the environment."""
    if isinstance(value, str):
        return parse_value(tp, value)
    inner, optional = _strip_optional(tp)
    if value is None:
        if optional:
            return None
        raise ValueError("may not be empty")
    if inner is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if inner is int and isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(inner, type) and not isinstance(value, inner):
        if inner in (list, tuple, set, frozenset) or typing.get_origin(inner):
            return value
        raise ValueError(f"expected {inner.__name__}, got {type(value).__name__}")
    return value


def settings_fields(cls: type[ServiceSettings]) -> dict[str, Any]:
    """Field name → resolved type (annotations may be strings under `from __future__`)."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.init}


def load_settings(
    cls: type[S],
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> S:
    """Defaults, then `BYTEBOT_<FIELD>` environment variables, then `overrides`."""
    fields = settings_fields(cls)
    values: dict[str, Any] = {}
    for name, tp in fields.items():
        var = env_name(name)
        if var in environ:
            try:
                values[name] = parse_value(tp, environ[var])
            except ValueError as exc:
                raise SettingsError(f"{var}={environ[var]!r}: {exc}") from None
    for name, value in (overrides or {}).items():
        key = name.replace("-", "_")
        if key not in fields:
            raise SettingsError(
                f"unknown setting {name!r} for {cls.__name__}; known: {', '.join(sorted(fields))}"
            )
        try:
            values[key] = _coerce(fields[key], value)
        except ValueError as exc:
            raise SettingsError(f"setting {key} (--set {key}=…) = {value!r}: {exc}") from None
    settings = cls(**values)
    _validate(settings)
    return settings


def _validate(settings: ServiceSettings) -> None:
    for name in ("grpc_port", "http_port"):
        port = getattr(settings, name)
        if not 0 <= port <= 65535:
            raise SettingsError(f"{env_name(name)}={port}: a port is between 0 and 65535")
    for name in (
        "shutdown_grace_seconds",
        "shutdown_propagation_seconds",
        "health_check_timeout_seconds",
    ):
        if getattr(settings, name) < 0:
            raise SettingsError(f"{env_name(name)}={getattr(settings, name)}: must be >= 0")
    for name in ("health_check_interval_seconds", "liveness_stall_seconds"):
        if getattr(settings, name) <= 0:
            raise SettingsError(f"{env_name(name)}={getattr(settings, name)}: must be > 0")
    if settings.max_message_bytes <= 0:
        raise SettingsError(f"{env_name('max_message_bytes')}: must be > 0")


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
    "ServiceSettings",
    "SettingsError",
    "env_name",
    "load_settings",
    "package_version",
    "parse_assignments",
    "parse_value",
    "settings_fields",
]
