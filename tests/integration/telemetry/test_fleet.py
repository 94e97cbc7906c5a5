"""GetSystemHealth / WatchSystemHealth against real servers: a ready one, one whose
readiness fails, and a stopped one (UNREACHABLE)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from bytebot.telemetry.v1 import telemetry_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc

from libs.runtime.server import start_service
from libs.status.errors import field_violations
from services.telemetry.main import ENTRY as TELEMETRY
from tests.integration.telemetry.conftest import MEMBER, run, telemetry_stub, unused_target

PROBES = ("liveness", "readiness", "startup")


def probes(service: pb.ServiceHealth) -> dict[str, int]:
    return {p.probe: p.status for p in service.probes}


async def _fleet(tmp_path, body, member_overrides=None):
    ready_file = tmp_path / "ready"
    ready_file.write_text("")
    flaky_file = tmp_path / "flaky-ready"
    async with (
        start_service(MEMBER, {"ready_file": str(ready_file)}) as good,
        start_service(MEMBER, {
            "ready_file": str(flaky_file), "health_check_interval_seconds": 0.2,
            **(member_overrides or {}),
        }) as flaky,
    ):
        fleet = {"good": good.grpc_target, "flaky": flaky.grpc_target, "gone": unused_target()}
        async with start_service(TELEMETRY, {
            "services": fleet, "metrics_urls": {}, "probe_interval_seconds": 1.0,
            "probe_timeout_seconds": 1.0,
        }) as telemetry:
            await body(telemetry, fleet, flaky_file)


def test_get_system_health_reports_each_probe_of_each_service(tmp_path):
    async def body(telemetry, fleet, _flaky_file):
        stub = telemetry_stub(telemetry)
        response = await stub.GetSystemHealth(pb.GetSystemHealthRequest())
        assert response.status == pb.FLEET_STATUS_DEGRADED
        by_name = {s.name: s for s in response.services}
        assert [s.name for s in response.services] == ["good", "flaky", "gone"]
        assert by_name["good"].target == fleet["good"]

        good = by_name["good"]
        assert good.status == pb.SERVING_STATUS_SERVING
        assert probes(good) == dict.fromkeys(PROBES, pb.SERVING_STATUS_SERVING)
        for p in good.probes:
            assert p.response_time.ToNanoseconds() > 0 and p.error == ""

        flaky = by_name["flaky"]  # up and started, its readiness check fails
        assert flaky.status == pb.SERVING_STATUS_NOT_SERVING
        assert probes(flaky) == {
            "liveness": pb.SERVING_STATUS_SERVING,
            "readiness": pb.SERVING_STATUS_NOT_SERVING,
            "startup": pb.SERVING_STATUS_SERVING,
        }

        gone = by_name["gone"]
        assert gone.status == pb.SERVING_STATUS_UNREACHABLE
        assert probes(gone) == dict.fromkeys(PROBES, pb.SERVING_STATUS_UNREACHABLE)
        assert all(p.error.startswith(("UNAVAILABLE", "DEADLINE_EXCEEDED")) for p in gone.probes)
        assert gone.checked_at.seconds > 0 and response.checked_at.seconds > 0

        only_good = await stub.GetSystemHealth(pb.GetSystemHealthRequest(services=["good"]))
        assert only_good.status == pb.FLEET_STATUS_HEALTHY
        assert [s.name for s in only_good.services] == ["good"]
        down = await stub.GetSystemHealth(pb.GetSystemHealthRequest(services=["gone", "flaky"]))
        assert down.status == pb.FLEET_STATUS_UNHEALTHY
        assert [s.name for s in down.services] == ["flaky", "gone"]  # configuration order

    run(_fleet(tmp_path, body))


def test_unknown_service_name_is_invalid_argument(tmp_path):
    async def body(telemetry, _fleet, _flaky_file):
        stub = telemetry_stub(telemetry)
        for call in (
            stub.GetSystemHealth(pb.GetSystemHealthRequest(services=["good", "nope"])),
        ):
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await call
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            violations = field_violations(info.value)
            assert [v.field for v in violations] == ["services[1]"]
            assert "nope" in violations[0].description and "good" in violations[0].description
        with pytest.raises(grpc.aio.AioRpcError) as info:
            stream = stub.WatchSystemHealth(pb.WatchSystemHealthRequest(services=["x"]))
            await stream.read()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        request = pb.WatchSystemHealthRequest()
        request.interval.FromMilliseconds(200)
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await stub.WatchSystemHealth(request).read()
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert field_violations(info.value)[0].field == "interval"

    run(_fleet(tmp_path, body))


def test_telemetry_is_ready_while_the_fleet_is_degraded(tmp_path):
    async def body(telemetry, _fleet, _flaky_file):
        health = health_pb2_grpc.HealthStub(telemetry.channel())
        for name in ("readiness", "", "bytebot.telemetry.v1.TelemetryService", "startup"):
            answer = await health.Check(health_pb2.HealthCheckRequest(service=name))
            assert answer.status == health_pb2.HealthCheckResponse.SERVING, name
        # and the fleet gauges say who is down
        body_bytes, _ = telemetry.observability.render_metrics(None)
        text = body_bytes.decode()
        assert 'bytebot_fleet_service_ready{service="good"} 1.0' in text
        assert 'bytebot_fleet_service_ready{service="gone"} 0.0' in text
        assert 'bytebot_fleet_probe_serving{probe="liveness",service="flaky"} 1.0' in text

    run(_fleet(tmp_path, body))


def test_watch_sends_the_state_then_every_change(tmp_path):
    async def body(telemetry, _fleet, flaky_file):
        stub = telemetry_stub(telemetry)
        request = pb.WatchSystemHealthRequest(services=["good", "flaky"])
        request.interval.FromSeconds(1)
        stream = stub.WatchSystemHealth(request)
        first = await asyncio.wait_for(stream.read(), 10)
        assert first.status == pb.FLEET_STATUS_DEGRADED
        assert [s.name for s in first.services] == ["good", "flaky"]
        # nothing changes for ~2.5 probe rounds: nothing is sent (response times differ)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(next_message := asyncio.ensure_future(
                stream.read())), 2.5)
        flaky_file.write_text("")  # the flaky member becomes ready
        second = await asyncio.wait_for(next_message, 10)
        assert second.status == pb.FLEET_STATUS_HEALTHY
        assert {s.name: s.status for s in second.services} == {
            "good": pb.SERVING_STATUS_SERVING, "flaky": pb.SERVING_STATUS_SERVING,
        }
        flaky_file.unlink()
        third = await asyncio.wait_for(stream.read(), 10)
        assert third.status == pb.FLEET_STATUS_DEGRADED
        stream.cancel()  # the client leaves; the server generator ends

    run(_fleet(tmp_path, body))
