"""The client channel factory against a real runtime server: retry policy, default deadline,
correlation forwarding through the observability interceptors, and the sync twin."""

from __future__ import annotations

import asyncio
import json

import grpc
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc

from libs.observability.testing.conformance import SERVICE, AioConformance
from libs.runtime.client import (
    channel_options,
    create_channel,
    create_sync_channel,
    retry_service_config,
)
from libs.runtime.config import ServiceSettings
from libs.runtime.server import ServiceEntry, ServiceSpec, start_service
from libs.status import errors


class Flaky(AioConformance):
    """Unary fails `failures` times with `code`, then answers; counts every attempt."""

    def __init__(self, failures: int, code: type[errors.RpcError]) -> None:
        super().__init__()
        self.failures = failures
        self.code = code
        self.attempts = 0

    async def Unary(self, request, context):
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.code(f"attempt {self.attempts} fails")
        return await super().Unary(request, context)


def flaky_entry(servicer: Flaky) -> ServiceEntry:
    def build(settings, runtime) -> ServiceSpec:
        return ServiceSpec(
            servicers=[(pb_grpc.add_ConformanceServiceServicer_to_server, servicer)],
            service_names=[SERVICE],
        )

    return ServiceEntry(name="flaky", settings_cls=ServiceSettings, build=build)


def run(coro, timeout: float = 30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


class BareFlaky(pb_grpc.ConformanceServiceServicer):
    """No interceptors on this server: fails UNAVAILABLE twice as a trailers-only response."""

    def __init__(self) -> None:
        self.attempts = 0

    async def Unary(self, request, context):
        self.attempts += 1
        if self.attempts <= 2:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "try again")
        return pb.ConformanceResponse(index=self.attempts)


def test_channel_retries_unavailable_with_backoff():
    async def scenario() -> int:
        servicer = BareFlaky()
        server = grpc.aio.server()
        pb_grpc.add_ConformanceServiceServicer_to_server(servicer, server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with create_channel(f"127.0.0.1:{port}") as channel:
                reply = await pb_grpc.ConformanceServiceStub(channel).Unary(
                    pb.ConformanceRequest(), timeout=10
                )
            return reply.index
        finally:
            await server.stop(0.001)  # never 0: grpc.aio may segfault

    assert run(scenario()) == 3


# Through the full stack this works because our client interceptors always send an
# x-correlation-id: the server then sends no early response headers, and a call whose
# headers were sent is committed and never retried (gRFC A6).
def test_unavailable_from_a_runtime_handler_is_retried():
    servicer = Flaky(2, errors.Unavailable)

    async def scenario():
        async with start_service(flaky_entry(servicer)) as svc, svc.channel() as channel:
            reply = await pb_grpc.ConformanceServiceStub(channel).Unary(
                pb.ConformanceRequest(payload="p"), timeout=10
            )
            assert reply.payload == "p"

    run(scenario())
    assert servicer.attempts == 3


def test_other_codes_and_unlisted_methods_are_not_retried():
    invalid = Flaky(1, errors.InvalidArgument)
    elsewhere = Flaky(1, errors.Unavailable)

    async def scenario():
        async with start_service(flaky_entry(invalid)) as svc, svc.channel() as channel:
            try:
                await pb_grpc.ConformanceServiceStub(channel).Unary(pb.ConformanceRequest())
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.INVALID_ARGUMENT
        config = retry_service_config([f"{SERVICE}/ServerStream"])
        async with (
            start_service(flaky_entry(elsewhere)) as svc,
            svc.channel(service_config=config) as channel,
        ):
            try:
                await pb_grpc.ConformanceServiceStub(channel).Unary(pb.ConformanceRequest())
            except grpc.aio.AioRpcError as err:
                assert err.code() == grpc.StatusCode.UNAVAILABLE

    run(scenario())
    assert invalid.attempts == 1
    assert elsewhere.attempts == 1


def test_default_deadline_applies_to_unary_calls_without_a_timeout():
    async def scenario():
        async with start_service(flaky_entry(Flaky(0, errors.Unavailable))) as svc:
            async with svc.channel(default_timeout=0.3) as channel:
                stub = pb_grpc.ConformanceServiceStub(channel)
                slow = pb.ConformanceRequest(behavior=pb.BEHAVIOR_SLEEP, sleep_ms=3000)
                try:
                    await stub.Unary(slow)
                except grpc.aio.AioRpcError as err:
                    assert err.code() == grpc.StatusCode.DEADLINE_EXCEEDED
                else:
                    raise AssertionError("expected DEADLINE_EXCEEDED")
                # an explicit timeout wins over the default
                quick = pb.ConformanceRequest(behavior=pb.BEHAVIOR_SLEEP, sleep_ms=500)
                assert (await stub.Unary(quick, timeout=5)).index == 1

    run(scenario())


def test_correlation_id_is_forwarded_and_sync_channel_works():
    async def scenario():
        async with start_service(flaky_entry(Flaky(0, errors.Unavailable))) as svc:
            async with svc.channel() as channel:
                reply = await pb_grpc.ConformanceServiceStub(channel).Unary(
                    pb.ConformanceRequest(), metadata=(("x-correlation-id", "corr-123"),)
                )
                assert reply.correlation_id == "corr-123"

            def sync_call() -> str:
                with create_sync_channel(
                    svc.grpc_target, observability=svc.observability
                ) as channel:
                    stub = pb_grpc.ConformanceServiceStub(channel)
                    return stub.Unary(
                        pb.ConformanceRequest(payload="s"),
                        metadata=(("x-correlation-id", "corr-sync"),),
                    ).correlation_id

            assert await asyncio.to_thread(sync_call) == "corr-sync"

    run(scenario())


def test_channel_options_carry_the_service_config():
    options = dict(channel_options())
    config = json.loads(options["grpc.service_config"])
    policy = config["methodConfig"][0]["retryPolicy"]
    assert policy["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert config["methodConfig"][0]["name"] == [{}]
    assert options["grpc.enable_retries"] == 1
    named = retry_service_config(["a.B/C", "a.D"])
    assert named["methodConfig"][0]["name"] == [
        {"service": "a.B", "method": "C"},
        {"service": "a.D"},
    ]
