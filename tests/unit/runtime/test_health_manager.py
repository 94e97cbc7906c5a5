"""HealthManager on its own: steps, checks, caching, shutdown, liveness watchdog."""

from __future__ import annotations

import asyncio

import pytest

from libs.runtime.health import (
    LIVENESS,
    NOT_SERVING,
    OVERALL,
    READINESS,
    SERVING,
    STARTUP,
    HealthManager,
)

SVC = "bytebot.demo.v1.DemoService"


def run(coro, timeout: float = 20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def statuses(manager: HealthManager) -> dict[str, int | None]:
    return {name: manager.status_of(name) for name in manager.all_names()}


class Dependency:
    """A readiness check over a flag, counting how often it ran."""

    def __init__(self) -> None:
        self.healthy = True
        self.calls = 0
        self.delay = 0.0

    async def __call__(self) -> None:
        self.calls += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if not self.healthy:
            raise ConnectionError("connection refused")


def test_initially_only_liveness_is_serving():
    manager = HealthManager([SVC])
    assert statuses(manager) == {
        LIVENESS: SERVING,
        READINESS: NOT_SERVING,
        STARTUP: NOT_SERVING,
        OVERALL: NOT_SERVING,
        SVC: NOT_SERVING,
    }
    code, body = manager.startup_body()
    assert code == 503 and body["status"] == "error"
    with pytest.raises(ValueError, match="reserved"):
        manager.add_service("liveness")


def test_steps_record_their_status_and_startup_then_readiness_follow():
    async def scenario():
        manager = HealthManager([SVC])
        db = Dependency()
        manager.add_check("database", db)
        for name in ("migrations", "queue"):
            manager.add_step(name)
        assert manager.startup_body()[1]["initialization"] == {
            "migrations": "pending",
            "queue": "pending",
        }

        async def migrate() -> None:
            assert manager.snapshot().steps["migrations"] == "running"

        async def connect() -> str:
            return "connected"

        await manager.run_step("migrations", migrate)
        await manager.run_step("queue", connect)
        assert manager.status_of(STARTUP) == NOT_SERVING  # not before mark_started
        await manager.mark_started()
        assert statuses(manager) == dict.fromkeys(manager.all_names(), SERVING)
        code, body = manager.startup_body()
        assert code == 200 and body["initialization"] == {
            "migrations": "completed",
            "queue": "connected",
        }
        assert db.calls == 1

    run(scenario())


def test_failed_step_is_recorded_and_startup_never_serves():
    async def scenario():
        manager = HealthManager()

        async def boom() -> None:
            raise RuntimeError("model file missing")

        with pytest.raises(RuntimeError):
            await manager.run_step("model_load", boom)
        await manager.mark_started()
        assert manager.snapshot().steps["model_load"] == "failed: model file missing"
        assert manager.status_of(STARTUP) == NOT_SERVING
        assert manager.status_of(READINESS) == NOT_SERVING

    run(scenario())


def test_failing_check_flips_readiness_but_not_liveness():
    async def scenario():
        failures = []
        manager = HealthManager([SVC], on_check_change=lambda n, ok, e: failures.append((n, ok, e)))
        db, cache = Dependency(), Dependency()
        manager.add_check("database", db)
        manager.add_check("cache", cache)
        await manager.mark_started()
        assert manager.status_of(READINESS) == SERVING

        db.healthy = False
        await manager.refresh()
        assert manager.status_of(READINESS) == NOT_SERVING
        assert manager.status_of(OVERALL) == NOT_SERVING
        assert manager.status_of(SVC) == NOT_SERVING
        assert manager.status_of(LIVENESS) == SERVING
        assert manager.status_of(STARTUP) == SERVING
        code, body = manager.ready_body()
        assert code == 503 and body["status"] == "error"
        assert body["checks"]["database"]["status"] == "error"
        assert body["checks"]["database"]["error"] == "connection refused"
        assert body["checks"]["cache"]["status"] == "ok"
        assert body["checks"]["cache"]["responseTime"].endswith("ms")
        assert manager.live_body()[0] == 200
        await manager.refresh()  # still down: reported once, on the change
        assert failures == [("database", False, "connection refused")]

        db.healthy = True
        await manager.refresh()
        assert failures[-1] == ("database", True, None)
        assert manager.status_of(READINESS) == SERVING and manager.ready_body()[0] == 200

    run(scenario())


def test_check_timeout_counts_as_failure_and_response_time_is_measured():
    async def scenario():
        manager = HealthManager(check_timeout=0.1)
        slow = Dependency()
        slow.delay = 0.3
        quick = Dependency()
        quick.delay = 0.05
        manager.add_check("slow", slow)
        manager.add_check("quick", quick)
        await manager.mark_started()
        body = manager.ready_body()[1]
        assert body["checks"]["slow"] == {
            "status": "error",
            "responseTime": body["checks"]["slow"]["responseTime"],
            "error": "timed out after 0.1s",
        }
        assert int(body["checks"]["quick"]["responseTime"].removesuffix("ms")) >= 50
        assert manager.status_of(READINESS) == NOT_SERVING

    run(scenario())


def test_cached_result_is_reused_until_stale_and_rounds_are_shared():
    async def scenario():
        manager = HealthManager(check_interval=0.3)
        db = Dependency()
        db.delay = 0.05
        manager.add_check("database", db)
        await manager.mark_started()
        assert db.calls == 1
        await manager.refresh_if_stale()
        assert db.calls == 1  # fresh: answered from the cache
        await asyncio.sleep(0.35)
        await asyncio.gather(*(manager.refresh_if_stale() for _ in range(5)))
        assert db.calls == 2  # stale: one round for five concurrent probes

    run(scenario())


def test_shutdown_drops_readiness_for_good_and_keeps_liveness():
    async def scenario():
        manager = HealthManager([SVC])
        manager.add_check("database", Dependency())
        await manager.mark_started()
        await manager.begin_shutdown()
        await manager.refresh()  # healthy checks cannot bring readiness back
        assert manager.status_of(READINESS) == NOT_SERVING
        assert manager.status_of(OVERALL) == NOT_SERVING
        assert manager.status_of(SVC) == NOT_SERVING
        assert manager.status_of(LIVENESS) == SERVING
        assert manager.status_of(STARTUP) == SERVING
        code, body = manager.ready_body()
        assert code == 503 and body["reason"] == "shutting down"
        assert manager.live_body()[0] == 200

    run(scenario())


def test_stalled_event_loop_fails_liveness_http():
    async def scenario():
        manager = HealthManager(liveness_stall=0.2)
        beat = asyncio.create_task(manager.heartbeat_forever(interval=0.05))
        await asyncio.sleep(0.1)
        assert manager.live_body()[0] == 200
        import time

        time.sleep(0.3)  # block the loop: the heartbeat cannot run
        code, body = manager.live_body()
        assert code == 503 and body["status"] == "error" and "stalled" in body["error"]
        await asyncio.sleep(0.1)
        assert manager.live_body()[0] == 200  # the loop recovered
        beat.cancel()

    run(scenario())


def test_live_body_has_the_source_fields():
    code, body = HealthManager(version="1.2.3").live_body()
    assert code == 200
    assert set(body) == {"status", "timestamp", "uptime", "version", "pid"}
    assert body["version"] == "1.2.3" and isinstance(body["uptime"], int)
    assert body["timestamp"].endswith("Z") and "T" in body["timestamp"]
