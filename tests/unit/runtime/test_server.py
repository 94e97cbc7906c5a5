"""Server bootstrap: background tasks, shutdown hooks, async build, port conflicts, options."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc

from libs.observability.testing.conformance import SERVICE, AioConformance
from libs.runtime.config import ServiceSettings, load_settings
from libs.runtime.server import (
    RunningService,
    ServiceEntry,
    ServiceSpec,
    StartupStep,
    server_options,
    start_service,
)


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_lifecycle_of_background_tasks_hooks_and_async_build():
    events: list[str] = []

    async def build(settings, runtime) -> ServiceSpec:
        await asyncio.sleep(0)  # an async build is awaited

        async def ticker() -> None:
            try:
                events.append("background started")
                await asyncio.Event().wait()
            finally:
                events.append("background cancelled")

        async def step() -> None:
            events.append("step")

        async def async_hook() -> None:
            events.append("async hook")

        def failing_hook() -> None:
            raise RuntimeError("hook bug")  # logged; later hooks still run

        return ServiceSpec(
            servicers=[(pb_grpc.add_ConformanceServiceServicer_to_server, AioConformance())],
            service_names=[SERVICE],
            startup_steps=[StartupStep("step", step)],
            background=[ticker],
            shutdown_hooks=[async_hook, failing_hook, lambda: events.append("sync hook")],
        )

    entry = ServiceEntry(name="lifecycle", settings_cls=ServiceSettings, build=build)

    async def scenario():
        async with start_service(entry) as svc:
            await asyncio.sleep(0.05)
            assert events == ["step", "background started"]
            async with svc.channel() as channel:
                reply = await pb_grpc.ConformanceServiceStub(channel).Unary(
                    pb.ConformanceRequest(payload="x")
                )
                assert reply.payload == "x"
            leftover = svc.runtime.channel(svc.grpc_target)
        assert events[2:] == ["background cancelled", "async hook", "sync hook"]
        # channels made through the runtime are closed with it
        with pytest.raises(grpc.aio.UsageError):
            await pb_grpc.ConformanceServiceStub(leftover).Unary(pb.ConformanceRequest())

    run(scenario())


def test_port_in_use_fails_the_start_with_a_clear_step_status():
    def build(settings, runtime) -> ServiceSpec:
        return ServiceSpec()

    entry = ServiceEntry(name="twin", settings_cls=ServiceSettings, build=build)

    async def scenario():
        async with start_service(entry) as first:
            port = first.grpc_port
            second = RunningService(
                entry,
                load_settings(
                    ServiceSettings,
                    {"grpc_port": port, "http_port": 0, "shutdown_propagation_seconds": 0},
                ),
            )
            with pytest.raises(OSError, match=f"cannot listen for gRPC on 127.0.0.1:{port}"):
                await second.start()
            step = second.health.snapshot().steps["grpc_server"]
            assert step.startswith("failed: cannot listen for gRPC")
            await second.stop()

            http_port = int(first.http_url.rsplit(":", 1)[1])
            third = RunningService(
                entry,
                load_settings(
                    ServiceSettings,
                    {"grpc_port": 0, "http_port": http_port, "shutdown_propagation_seconds": 0},
                ),
            )
            with pytest.raises(OSError, match=f"cannot listen for HTTP on 127.0.0.1:{http_port}"):
                await third.start()
            assert third.health.snapshot().steps["ops_http"].startswith("failed: cannot listen")
            assert third.health.snapshot().steps["grpc_server"] == "pending"
            await third.stop()

    run(scenario())


def test_server_options_follow_settings():
    settings = load_settings(ServiceSettings, {"max_message_bytes": 1234}, environ={})
    options = dict(server_options(settings))
    assert options["grpc.max_receive_message_length"] == 1234
    assert options["grpc.max_send_message_length"] == 1234
    assert options["grpc.so_reuseport"] == 0
    assert options["grpc.keepalive_time_ms"] == 60_000


def test_message_size_limit_is_enforced():
    async def scenario():
        from libs.runtime.testing import ENTRY

        async with start_service(ENTRY, {"max_message_bytes": 64 * 1024}) as svc:
            async with svc.channel(max_message_bytes=1024 * 1024) as channel:
                stub = pb_grpc.ConformanceServiceStub(channel)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.Unary(pb.ConformanceRequest(payload="x" * 100_000))
                assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
                reply = await stub.Unary(pb.ConformanceRequest(payload="x" * 1000))
                assert len(reply.payload) == 1000

    run(scenario())
