"""A real runtime server in-process: gRPC health (Check + Watch) and the HTTP ops port agree
through start-up, a failing dependency, and shutdown."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path

import grpc
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from libs.runtime.config import load_settings
from libs.runtime.server import RunningService, start_service
from libs.runtime.testing import ENTRY, SERVICE

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    def fetch() -> tuple[int, bytes, str]:
        request = urllib.request.Request(url, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), response.headers["Content-Type"]
        except urllib.error.HTTPError as err:
            return err.code, err.read(), err.headers["Content-Type"]

    return await asyncio.to_thread(fetch)


async def http_json(url: str) -> tuple[int, dict]:
    code, body, content_type = await http_get(url)
    assert content_type.startswith("application/json")
    return code, json.loads(body)


async def grpc_status(stub, name: str) -> int:
    return (await stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)).status


def test_startup_then_ready_then_dependency_failure(tmp_path: Path):
    gate, ready = tmp_path / "gate", tmp_path / "ready"

    async def scenario():
        settings = load_settings(
            ENTRY.settings_cls,
            {
                "grpc_host": "127.0.0.1",
                "http_host": "127.0.0.1",
                "startup_gate_file": str(gate),
                "ready_file": str(ready),
                "health_check_interval_seconds": 0.2,
                "shutdown_propagation_seconds": 0,
                "shutdown_grace_seconds": 0,
            },
        )
        service = RunningService(ENTRY, settings)
        starting = asyncio.create_task(service.start())
        try:
            for _ in range(200):  # the ports are up before the start-up steps finish
                if (
                    service.server is not None
                    and service.health.snapshot().steps.get("warmup") == "running"
                ):
                    break
                await asyncio.sleep(0.02)
            base = service.http_url
            async with grpc.aio.insecure_channel(service.grpc_target) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                watch = stub.Watch(health_pb2.HealthCheckRequest(service="readiness"))
                seen = [(await watch.read()).status]

                # during start-up: live, not started, not ready — gRPC and HTTP agree
                assert await grpc_status(stub, "liveness") == SERVING
                assert await grpc_status(stub, "startup") == NOT_SERVING
                assert await grpc_status(stub, "readiness") == NOT_SERVING
                assert await grpc_status(stub, SERVICE) == NOT_SERVING
                code, body = await http_json(f"{base}/health/startup")
                assert code == 503 and body["status"] == "error"
                assert body["initialization"] == {
                    "ops_http": "listening",
                    "grpc_server": "listening",
                    "warmup": "running",
                }
                assert (await http_json(f"{base}/health/live"))[0] == 200
                assert (await http_json(f"{base}/health/ready"))[0] == 503

                gate.touch()
                ready.touch()
                await starting
                code, body = await http_json(f"{base}/health/startup")
                assert code == 200 and body["initialization"]["warmup"] == "warmed"
                for name in ("liveness", "readiness", "startup", "", SERVICE):
                    assert await grpc_status(stub, name) == SERVING, name
                code, body = await http_json(f"{base}/health/ready")
                assert code == 200 and body["status"] == "ok"
                assert body["checks"]["ready_file"]["status"] == "ok"
                seen.append((await watch.read()).status)

                # the dependency fails: readiness drops (Watch pushes it), liveness stays
                ready.unlink()
                seen.append((await asyncio.wait_for(watch.read(), 5)).status)
                assert seen == [NOT_SERVING, SERVING, NOT_SERVING]
                assert await grpc_status(stub, "readiness") == NOT_SERVING
                assert await grpc_status(stub, "") == NOT_SERVING
                assert await grpc_status(stub, "liveness") == SERVING
                code, body = await http_json(f"{base}/health/ready")
                assert code == 503
                assert body["checks"]["ready_file"]["status"] == "error"
                assert "is missing" in body["checks"]["ready_file"]["error"]
                assert (await http_json(f"{base}/health/live"))[0] == 200

                ready.touch()
                assert (await asyncio.wait_for(watch.read(), 5)).status == SERVING
                watch.cancel()
        finally:
            if not starting.done():
                gate.touch()
                await starting
            await service.stop()

    run(scenario())


def test_unknown_health_service_is_not_found_with_a_message():
    async def scenario():
        async with (
            start_service(ENTRY) as svc,
            grpc.aio.insecure_channel(svc.grpc_target) as channel,
        ):
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                await stub.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=5)
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.NOT_FOUND
                assert "unknown health service 'nope'" in err.details()
                assert "'readiness'" in err.details()
            else:
                raise AssertionError("expected NOT_FOUND")

    run(scenario())


def test_shutdown_flips_readiness_and_keeps_liveness_while_draining():
    async def scenario():
        # a long propagation window, ended by force() once checked: no timing assumptions
        async with start_service(ENTRY, {"shutdown_propagation_seconds": 30}) as svc:
            async with grpc.aio.insecure_channel(svc.grpc_target) as channel:
                stub = health_pb2_grpc.HealthStub(channel)
                assert await grpc_status(stub, "readiness") == SERVING
                stopping = asyncio.create_task(svc.stop())
                while not svc.health.shutting_down:  # stop() runs in its own task
                    await asyncio.sleep(0.01)
                assert await grpc_status(stub, "readiness") == NOT_SERVING
                assert await grpc_status(stub, "") == NOT_SERVING
                assert await grpc_status(stub, SERVICE) == NOT_SERVING
                assert await grpc_status(stub, "liveness") == SERVING
                code, body = await http_json(f"{svc.http_url}/health/ready")
                assert code == 503 and body["reason"] == "shutting down"
                assert (await http_json(f"{svc.http_url}/health/live"))[0] == 200
                svc.force()  # what a second SIGTERM does
                await asyncio.wait_for(stopping, 15)

    run(scenario())


def test_metrics_endpoint_and_http_errors():
    async def scenario():
        async with start_service(ENTRY) as svc:
            async with svc.channel() as channel:
                stub = pb_grpc.ConformanceServiceStub(channel)
                await stub.Unary(pb.ConformanceRequest(payload="x"), timeout=5)
            base = svc.http_url
            code, body, ctype = await http_get(f"{base}/metrics")
            text = body.decode()
            assert code == 200 and ctype.startswith("text/plain")
            assert (
                'grpc_server_handled_total{grpc_code="OK",grpc_method="Unary",'
                'grpc_service="bytebot.testing.v1.ConformanceService",grpc_type="unary"} 1.0'
            ) in text
            # pre-created: a method never called has its zero series
            assert 'grpc_method="Bidi"' in text
            # health checks are not RPC metrics
            assert "grpc.health.v1.Health" not in text
            code, body, ctype = await http_get(
                f"{base}/metrics", {"Accept": "application/openmetrics-text; version=1.0.0"}
            )
            assert code == 200 and ctype.startswith("application/openmetrics-text")
            assert body.rstrip().endswith(b"# EOF")
            assert (await http_json(f"{base}/nope"))[0] == 404

            def post() -> int:
                request = urllib.request.Request(f"{base}/health/live", data=b"", method="POST")
                try:
                    urllib.request.urlopen(request, timeout=5)
                except urllib.error.HTTPError as err:
                    return err.code
                return 200

            assert await asyncio.to_thread(post) == 405

    run(scenario())


def test_open_watch_streams_do_not_hold_the_drain():
    async def scenario():
        async with start_service(ENTRY, stop_grace=60) as svc:
            async with grpc.aio.insecure_channel(svc.grpc_target) as channel:
                watch = health_pb2_grpc.HealthStub(channel).Watch(
                    health_pb2.HealthCheckRequest(service="readiness")
                )
                assert (await watch.read()).status == SERVING
                # with a 60 s grace, an open Watch would hold stop() for a minute
                await asyncio.wait_for(svc.stop(), 15)
                assert (await watch.read()).status == NOT_SERVING
                assert await watch.read() is grpc.aio.EOF
                assert await watch.code() == grpc.StatusCode.OK

    run(scenario(), timeout=40)
