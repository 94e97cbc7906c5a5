"""The local stack's layout: which services `bytebot up` runs and on which ports.

One table (docs/runtime-api.md "Default ports") shared by `bytebot up`, the telemetry
service's default fleet and the people-facing CLI's default targets, so a port is written
down once. `offset` shifts every port (tests run a second stack on free ports).
"""

from __future__ import annotations

from dataclasses import dataclass


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


# Start order matters: the worker calls computer + inference and the tasks API's database.
LOCAL_STACK: tuple[StackService, ...] = (
    StackService("tasks-api", 50051, 9464, "BYTEBOT_TASKS_ADDRESS"),
    StackService("tasks-worker", 50052, 9465, "BYTEBOT_TASKS_WORKER_ADDRESS"),
    StackService("computer", 50053, 9466, "BYTEBOT_COMPUTER_ADDRESS"),
    StackService("inference", 50054, 9467, "BYTEBOT_INFERENCE_ADDRESS"),
    StackService("telemetry", 50055, 9468, "BYTEBOT_TELEMETRY_ADDRESS"),
)

SERVICE_NAMES: tuple[str, ...] = tuple(s.name for s in LOCAL_STACK)


def local_stack(offset: int = 0) -> tuple[StackService, ...]:
    return tuple(s.shifted(offset) for s in LOCAL_STACK)


def by_name(name: str, offset: int = 0) -> StackService:
    for service in local_stack(offset):
        if service.name == name:
            return service
    raise KeyError(f"unknown service {name!r}; known: {', '.join(SERVICE_NAMES)}")


def grpc_targets(offset: int = 0, host: str = "127.0.0.1") -> dict[str, str]:
    return {s.name: s.grpc_target(host) for s in local_stack(offset)}


def metrics_urls(offset: int = 0, host: str = "127.0.0.1") -> dict[str, str]:
    return {s.name: f"{s.http_url(host)}/metrics" for s in local_stack(offset)}


__all__ = [
    "LOCAL_STACK",
    "SERVICE_NAMES",
    "StackService",
    "by_name",
    "grpc_targets",
    "local_stack",
    "metrics_urls",
]
