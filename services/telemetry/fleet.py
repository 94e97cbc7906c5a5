"""Fleet health: every configured service probed through `grpc.health.v1.Health/Check` for
"liveness", "readiness" and "startup", concurrently, each probe with its own timeout.

A probe's answer maps onto `ServingStatus`: SERVING / NOT_SERVING as answered, NOT_FOUND or
SERVICE_UNKNOWN → UNKNOWN_SERVICE, anything else (refused, timed out, another RPC error) →
UNREACHABLE with the error. A service's status is its readiness probe's; the fleet is HEALTHY
when every service is ready, UNHEALTHY when none is, DEGRADED otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from bytebot.telemetry.v1 import telemetry_pb2 as pb
from grpc import aio
from grpc_health.v1 import health_pb2, health_pb2_grpc

from libs.security.client_side import ClientSecurity

PROBES: tuple[str, ...] = ("liveness", "readiness", "startup")

ChannelFactory = Callable[[str], aio.Channel]


@dataclass(frozen=True)
class Probe:
    probe: str
    status: int  # pb.ServingStatus
    response_time_s: float
    error: str = ""


@dataclass(frozen=True)
class ServiceState:
    name: str
    target: str
    status: int  # pb.ServingStatus: the readiness probe's
    probes: tuple[Probe, ...]
    checked_at: float  # epoch seconds


@dataclass(frozen=True)
class FleetState:
    status: int  # pb.FleetStatus
    services: tuple[ServiceState, ...]
    checked_at: float

    def change_key(self) -> tuple[object, ...]:
        """What counts as a change for WatchSystemHealth: statuses, not response times."""
        return (
            self.status,
            tuple(
                (s.name, s.status, tuple((p.probe, p.status) for p in s.probes))
                for s in self.services
            ),
        )


def fleet_status(services: Sequence[ServiceState]) -> int:
    ready = sum(1 for s in services if s.status == pb.SERVING_STATUS_SERVING)
    if not services:
        return pb.FLEET_STATUS_UNSPECIFIED
    if ready == len(services):
        return pb.FLEET_STATUS_HEALTHY
    if ready == 0:
        return pb.FLEET_STATUS_UNHEALTHY
    return pb.FLEET_STATUS_DEGRADED


def _status_from_answer(answer: int) -> int:
    if answer == health_pb2.HealthCheckResponse.SERVING:
        return pb.SERVING_STATUS_SERVING
    if answer == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN:
        return pb.SERVING_STATUS_UNKNOWN_SERVICE
    # NOT_SERVING, and UNKNOWN (a server that has not decided yet) is not serving either
    return pb.SERVING_STATUS_NOT_SERVING


def _describe(error: grpc.RpcError) -> str:
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    name = code.name if code is not None else "ERROR"
    return f"{name}: {details}" if details else name


# No retries (a refused connection is the answer, not a reason to wait) and a short reconnect
# backoff, so a service that comes back is seen within a second instead of after gRPC's
# default backoff of up to two minutes.
PROBE_CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.enable_retries", 0),
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.min_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 1000),
)


def plain_channel(target: str) -> aio.Channel:
    """A plaintext probe channel (the fleet serves without TLS)."""
    return aio.insecure_channel(target, options=list(PROBE_CHANNEL_OPTIONS))


def probe_channel_factory(settings: Any) -> ChannelFactory:
    """Probe channels for the fleet as `settings` (the client TLS fields of
    `libs.security.settings.SecuritySettings`) describe it: plaintext when no client TLS is
    configured, else TLS (and our client certificate when the fleet requires mTLS).

    No bearer token and no interceptors: grpc.health.v1 is exempt from authentication, and
    a probe must not depend on a token that may be stale. A bad TLS file raises
    `TlsConfigError` here, at start-up, not at the first probe."""
    security = ClientSecurity.from_settings(settings)
    if security.credentials is None:
        return plain_channel

    def tls_channel(target: str) -> aio.Channel:
        return security.aio_channel(target, PROBE_CHANNEL_OPTIONS)

    return tls_channel


class FleetProber:
    """Probes a fixed table of services; keeps one channel per target."""

    def __init__(
        self,
        services: dict[str, str],
        *,
        timeout: float = 1.0,
        channel_factory: ChannelFactory = plain_channel,
    ) -> None:
        self.services = dict(services)
        self.timeout = timeout
        self._channel_factory = channel_factory
        self._stubs: dict[str, health_pb2_grpc.HealthStub] = {}
        self._channels: list[aio.Channel] = []

    @property
    def names(self) -> list[str]:
        return list(self.services)

    def unknown(self, names: Iterable[str]) -> list[tuple[int, str]]:
        """(index, name) of the requested names that are not configured."""
        return [(i, n) for i, n in enumerate(names) if n not in self.services]

    def _stub(self, target: str) -> health_pb2_grpc.HealthStub:
        stub = self._stubs.get(target)
        if stub is None:
            channel = self._channel_factory(target)
            self._channels.append(channel)
            stub = health_pb2_grpc.HealthStub(channel)
            self._stubs[target] = stub
        return stub

    async def probe(self, target: str, name: str) -> Probe:
        stub = self._stub(target)
        started = time.perf_counter()
        try:
            answer = await stub.Check(
                health_pb2.HealthCheckRequest(service=name), timeout=self.timeout
            )
        except grpc.RpcError as exc:
            elapsed = time.perf_counter() - started
            code = exc.code() if hasattr(exc, "code") else None
            status = (
                pb.SERVING_STATUS_UNKNOWN_SERVICE
                if code == grpc.StatusCode.NOT_FOUND
                else pb.SERVING_STATUS_UNREACHABLE
            )
            return Probe(name, status, elapsed, _describe(exc))
        elapsed = time.perf_counter() - started
        status = _status_from_answer(answer.status)
        error = "SERVICE_UNKNOWN" if status == pb.SERVING_STATUS_UNKNOWN_SERVICE else ""
        return Probe(name, status, elapsed, error)

    async def check_service(self, name: str) -> ServiceState:
        target = self.services[name]
        probes = await asyncio.gather(*(self.probe(target, p) for p in PROBES))
        readiness = next(p for p in probes if p.probe == "readiness")
        return ServiceState(name, target, readiness.status, tuple(probes), time.time())

    async def check(self, names: Sequence[str] = ()) -> FleetState:
        """Probe `names` (empty: all), concurrently; answers in configuration order."""
        wanted = set(names) if names else set(self.services)
        ordered = [n for n in self.services if n in wanted]
        services = await asyncio.gather(*(self.check_service(n) for n in ordered))
        return FleetState(fleet_status(services), tuple(services), time.time())

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
        self._channels.clear()
        self._stubs.clear()


# --- protobuf conversion --------------------------------------------------------------------


def _duration(seconds: float) -> object:
    from google.protobuf.duration_pb2 import Duration

    d = Duration()
    d.FromNanoseconds(int(seconds * 1e9))
    return d


def _timestamp(epoch: float) -> object:
    from google.protobuf.timestamp_pb2 import Timestamp

    t = Timestamp()
    t.FromNanoseconds(int(epoch * 1e9))
    return t


def service_to_proto(state: ServiceState) -> pb.ServiceHealth:
    return pb.ServiceHealth(
        name=state.name,
        target=state.target,
        status=state.status,  # type: ignore[arg-type]
        probes=[
            pb.ProbeResult(
                probe=p.probe,
                status=p.status,  # type: ignore[arg-type]
                response_time=_duration(p.response_time_s),  # type: ignore[arg-type]
                error=p.error,
            )
            for p in state.probes
        ],
        checked_at=_timestamp(state.checked_at),  # type: ignore[arg-type]
    )


def fill_response(message: object, state: FleetState) -> object:
    """Fill a GetSystemHealthResponse or a WatchSystemHealthResponse (same fields)."""
    message.status = state.status  # type: ignore[attr-defined]
    message.services.extend(service_to_proto(s) for s in state.services)  # type: ignore[attr-defined]
    message.checked_at.CopyFrom(_timestamp(state.checked_at))  # type: ignore[attr-defined]
    return message
