"""Names of gRPC's own infrastructure services, and the questions asked about them, once
(issue 13 item 5): observability keeps them out of the signals (libs/observability/filters.py),
security never authenticates health and may open reflection (libs/security/guard.py)."""

from __future__ import annotations

HEALTH_SERVICE = "grpc.health.v1.Health"
REFLECTION_PREFIX = "grpc.reflection."  # v1 and v1alpha
CHANNELZ_SERVICE = "grpc.channelz.v1.Channelz"


def is_health(service: str) -> bool:
    """`service` is the full service name, e.g. `grpc.health.v1.Health`."""
    return service == HEALTH_SERVICE


def is_reflection(service: str) -> bool:
    return service.startswith(REFLECTION_PREFIX)


def is_channelz(service: str) -> bool:
    return service == CHANNELZ_SERVICE


__all__ = [
    "CHANNELZ_SERVICE",
    "HEALTH_SERVICE",
    "REFLECTION_PREFIX",
    "is_channelz",
    "is_health",
    "is_reflection",
]
