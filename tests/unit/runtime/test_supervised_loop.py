"""The supervised-loop helper (libs.runtime.supervised_loop): a loop survives any exception
(an empty message included), logs its type, backs off, counts failures, and turns readiness
NOT_SERVING past its tolerance — in a real runtime server, where gRPC health and
/health/ready must agree — and SERVING again once it works."""

from __future__ import annotations

import asyncio
import io
import json
import urllib.error
import urllib.request

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry

from libs.observability import logging as obs_logging
from libs.runtime import BackgroundLoops, SupervisedLoop, describe_error, safe_error_text
from libs.runtime.backoff import equal_jitter, exponential_cap, full_jitter
from libs.runtime.config import ServiceSettings
from libs.runtime.health import NOT_SERVING, READINESS, SERVING, HealthManager
from libs.runtime.server import RuntimeContext, ServiceEntry, ServiceSpec, start_service
from libs.runtime.supervised_loop import LoopHealth

METRIC = "bytebot_background_loop_failures_total"


class _BrokenStr(Exception):
    def __str__(self) -> str:
        raise ValueError("no text for you")


@pytest.mark.parametrize(
    ("exc", "text"),
    [
        (TimeoutError(), ""),  # the message that killed the loops of issue 17
        (ConnectionError(""), ""),
        (OSError("first\nsecond"), "first"),
        (RuntimeError("\n"), ""),
        (RuntimeError("x" * 1000), "x" * 300),
        (_BrokenStr(), ""),
    ],
)
def test_safe_error_text_never_raises(exc: BaseException, text: str) -> None:
    assert safe_error_text(exc) == text
    assert safe_error_text(exc, 5) == text[:5]
    assert describe_error(exc).startswith(type(exc).__name__)


def test_describe_error_is_the_type_alone_for_an_empty_message() -> None:
    assert describe_error(TimeoutError()) == "TimeoutError"
    assert describe_error(OSError("disk full\ntrace")) == "OSError: disk full"


def test_backoff_is_exponential_capped_and_jittered() -> None:
    caps = [exponential_cap(n, 0.1, 2.0) for n in range(1, 8)]
    assert caps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0])
    assert exponential_cap(10_000, 0.1, 2.0) == 2.0  # no overflow on a long outage
    for n in range(1, 8):
        assert full_jitter(n, 0.1, 2.0, rng=lambda: 0.0) == 0.0
        assert full_jitter(n, 0.1, 2.0, rng=lambda: 1.0) == pytest.approx(caps[n - 1])
        # a loop never spins: at least half the cap
        assert equal_jitter(n, 0.1, 2.0, rng=lambda: 0.0) == pytest.approx(caps[n - 1] / 2)
        assert equal_jitter(n, 0.1, 2.0, rng=lambda: 1.0) == pytest.approx(caps[n - 1])


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_loop_health_streak_backoff_counter_and_tolerance() -> None:
    registry = CollectorRegistry()
    loops = BackgroundLoops(registry)
    clock = FakeClock()
    health = loops.track(
        "probe", interval=0.1, tolerance=10.0, backoff_initial=0.5, backoff_max=4.0,
        clock=clock, rng=lambda: 1.0,
    )
    assert registry.get_sample_value(METRIC, {"loop": "probe"}) == 0.0  # pre-created
    delays = []
    for _ in range(6):
        delays.append(health.failed(TimeoutError()))
        clock.now += 2.5
    assert delays == pytest.approx([0.5, 1.0, 2.0, 4.0, 4.0, 4.0])
    assert registry.get_sample_value(METRIC, {"loop": "probe"}) == 6.0
    assert health.last_error == "TimeoutError"
    assert health.failing_for() == pytest.approx(15.0)
    assert not health.healthy()
    with pytest.raises(RuntimeError, match=r"probe failing for 15s .*last: TimeoutError"):
        asyncio.run(health.check())
    health.succeeded()
    assert health.healthy() and health.consecutive_failures == 0
    asyncio.run(health.check())
    assert health.failed(OSError("x")) == pytest.approx(0.5)  # a new streak starts low
    assert registry.get_sample_value(METRIC, {"loop": "probe"}) == 7.0


def test_names_are_bounded_and_unique() -> None:
    loops = BackgroundLoops(CollectorRegistry())

    async def body() -> None:
        return None

    with pytest.raises(ValueError, match="lower-case"):
        loops.add("Task {id}", body)
    loops.add("ok_name", body)
    with pytest.raises(ValueError, match="already registered"):
        loops.add("ok_name", body)


def test_loop_survives_empty_message_exceptions_and_logs_the_type() -> None:
    stream = io.StringIO()
    obs_logging.configure("test-loops", stream=stream)
    registry = CollectorRegistry()
    loops = BackgroundLoops(registry)
    calls = 0
    survived = asyncio.Event()

    async def body() -> float:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise TimeoutError()  # str() is "": splitlines()[0] raised IndexError here
        survived.set()
        return 0.01

    loop = loops.add("flaky", body, interval=0.01, backoff_initial=0.01, backoff_max=0.02)

    async def scenario() -> None:
        task = asyncio.create_task(loop.run())
        try:
            await asyncio.wait_for(survived.wait(), 10)
        finally:
            task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task  # cancellation is the one thing that ends it

    try:
        asyncio.run(scenario())
    finally:
        obs_logging.reset()
    assert loop.iterations >= 1 and loop.failures == 3
    assert registry.get_sample_value(METRIC, {"loop": "flaky"}) == 3.0
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    failed = [r for r in lines if r["message"] == "background loop iteration failed"]
    assert len(failed) == 3
    assert all(r["errorType"] == "TimeoutError" and r["loop"] == "flaky" for r in failed)
    assert [r["consecutiveFailures"] for r in failed] == [1, 2, 3]
    assert any(r["message"] == "background loop recovered" for r in lines)


def test_a_hung_iteration_times_out_and_the_loop_goes_on() -> None:
    calls = 0
    done = asyncio.Event()

    async def body() -> float:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.sleep(3600)
        done.set()
        return 0.01

    loop = SupervisedLoop("hung", body, timeout=0.05, backoff_initial=0.01)

    async def scenario() -> None:
        task = asyncio.create_task(loop.run())
        try:
            await asyncio.wait_for(done.wait(), 10)
        finally:
            task.cancel()

    asyncio.run(scenario())
    assert loop.failures == 1 and loop.last_error == "TimeoutError"


def test_health_manager_readiness_flips_and_recovers() -> None:
    """Without a server: the loop refreshes the HealthManager itself at both transitions."""
    broken = True
    seen_down, seen_up = asyncio.Event(), asyncio.Event()

    async def body() -> float:
        if broken:
            raise ConnectionError()
        return 0.01

    async def scenario() -> None:
        nonlocal broken
        # a long check interval: only the loop's own refresh can flip readiness quickly
        health = HealthManager(check_interval=3600)
        loops = BackgroundLoops(CollectorRegistry(), health)
        loop = loops.add("poller", body, tolerance=0.2, backoff_initial=0.02, backoff_max=0.05)
        await health.mark_started()
        assert health.status_of(READINESS) == SERVING
        task = asyncio.create_task(loop.run())
        try:
            while health.status_of(READINESS) != NOT_SERVING:
                await asyncio.sleep(0.01)
            seen_down.set()
            code, body_json = health.ready_body()
            assert code == 503
            assert body_json["checks"]["loop:poller"]["status"] == "error"
            assert "ConnectionError" in body_json["checks"]["loop:poller"]["error"]
            broken = False
            while health.status_of(READINESS) != SERVING:
                await asyncio.sleep(0.01)
            seen_up.set()
            assert health.ready_body()[0] == 200
        finally:
            task.cancel()

    asyncio.run(asyncio.wait_for(scenario(), 20))
    assert seen_down.is_set() and seen_up.is_set()


# --- in a real runtime server: gRPC health and /health/ready agree ----------------------


class _LoopSettings(ServiceSettings):
    pass


class _Switch:
    broken = False


SWITCH = _Switch()


def _build(settings: _LoopSettings, runtime: RuntimeContext) -> ServiceSpec:
    async def body() -> float:
        if SWITCH.broken:
            raise TimeoutError()
        return 0.02

    loop = runtime.loops.add("toy_refresh", body, tolerance=0.3, backoff_initial=0.02,
                             backoff_max=0.05)
    return ServiceSpec(background=[loop.run])


ENTRY = ServiceEntry(name="toy-loops", settings_cls=_LoopSettings, build=_build)


def _http(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_runtime_server_readiness_follows_a_failing_loop() -> None:
    async def scenario() -> None:
        SWITCH.broken = False
        async with start_service(ENTRY, {"health_check_interval_seconds": 60}) as service:
            async with grpc.aio.insecure_channel(service.grpc_target) as channel:
                stub = health_pb2_grpc.HealthStub(channel)

                async def grpc_ready() -> int:
                    reply = await stub.Check(
                        health_pb2.HealthCheckRequest(service=""), timeout=5
                    )
                    return reply.status

                async def wait_for(status: int) -> tuple[int, dict]:
                    while await grpc_ready() != status:
                        await asyncio.sleep(0.02)
                    return await asyncio.to_thread(_http, f"{service.http_url}/health/ready")

                code, body = await wait_for(SERVING)
                assert code == 200 and body["checks"]["loop:toy_refresh"]["status"] == "ok"
                SWITCH.broken = True
                code, body = await wait_for(NOT_SERVING)
                assert code == 503, body  # the same truth on both ports
                assert "TimeoutError" in body["checks"]["loop:toy_refresh"]["error"]
                metrics = await asyncio.to_thread(
                    lambda: urllib.request.urlopen(f"{service.http_url}/metrics").read().decode()
                )
                assert f'{METRIC}{{loop="toy_refresh"}}' in metrics
                SWITCH.broken = False
                code, body = await wait_for(SERVING)
                assert code == 200

    asyncio.run(asyncio.wait_for(scenario(), 60))


def test_loop_health_without_registry_or_health_still_works() -> None:
    health = LoopHealth("solo", tolerance=0.0, clock=FakeClock())
    health.failed(TimeoutError())
    assert health.healthy()  # exactly at the tolerance: not beyond it
