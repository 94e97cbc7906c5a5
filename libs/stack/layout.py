"""The local stack's layout: which services `bytebot up` runs and on which ports.

Derived from the service registry (libs.runtime.registry: the pyproject table
`[project.entry-points."bytebot.services"]`), so a service and its ports are written down
once and a newly registered service is part of `bytebot up`, `--only`, the telemetry
service's default fleet and the CLIs' default targets. `offset` shifts every port (tests run
a second stack on free ports).
"""

from __future__ import annotations

from dataclasses import dataclass

from libs.runtime import registry


@dataclass(frozen=True)
class StackService:
    name: str
    grpc_port: int
    http_port: int
    # the environment variable people set to point the CLI at this service
    address_env: str

    def shifted(self, offset: int) -> StackService:
        return StackService(
            self.name, self.grpc_port + offset, self.http_port + offset, self.address_env
        )

    def grpc_target(self, host: str = "127.0.0.1") -> str:
        return f"{host}:{self.grpc_port}"

    def http_url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.http_port}"


def _from_registry() -> tuple[StackService, ...]:
    # start order = the registry's order (by gRPC port): the worker needs the tasks API's
    # database migrated first
    return tuple(StackService(d.name, d.grpc_port, d.http_port, d.address_variable)
                 for d in registry.definitions())


def service_names() -> tuple[str, ...]:
    return tuple(s.name for s in _from_registry())


def __getattr__(name: str) -> object:
    # LOCAL_STACK / SERVICE_NAMES as before, computed when read rather than at import time:
    # the registry imports each service's config module, and telemetry's imports this one
    if name == "LOCAL_STACK":
        return _from_registry()
    if name == "SERVICE_NAMES":
        return service_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def local_stack(offset: int = 0) -> tuple[StackService, ...]:
    return tuple(s.shifted(offset) for s in _from_registry())


def by_name(name: str, offset: int = 0) -> StackService:
    for service in local_stack(offset):
        if service.name == name:
            return service
    raise KeyError(f"unknown service {name!r}; known: {', '.join(service_names())}")


def grpc_targets(offset: int = 0, host: str = "127.0.0.1") -> dict[str, str]:
    return {s.name: s.grpc_target(host) for s in local_stack(offset)}


def metrics_urls(offset: int = 0, host: str = "127.0.0.1") -> dict[str, str]:
    return {s.name: f"{s.http_url(host)}/metrics" for s in local_stack(offset)}


__all__ = [
    "StackService",
    "by_name",
    "grpc_targets",
    "local_stack",
    "metrics_urls",
    "service_names",
]
