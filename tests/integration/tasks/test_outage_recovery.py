"""Issue 17 item 5: after a database outage longer than the loops' tolerance, readiness (and
with it a worker's claims) comes back within the loops' backoff cap, not a refresh interval.

bench/database_outage.py found the worker NOT_SERVING for 11 s after PostgreSQL returned from
a 60 s stop: the queue-length refresh, failing beyond its tolerance, retried from its refresh
interval (15 s) instead of the backoff the other loops use. Here the refresh interval is an
hour: before the fix the loop's next try after the database came back was 30-60 min away.
The database is a real SQLite file; the fault is injected into the refresh's query.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from libs.runtime.server import start_service
from services.tasks.main import API_ENTRY
from services.tasks.store import TaskStore
from services.tasks.testing.databases import sqlite_url

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


def test_readiness_returns_within_the_backoff_cap_after_a_long_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    down = {"on": True}
    original = TaskStore.queue_lengths

    def queue_lengths(self: TaskStore, *args: object, **kwargs: object) -> object:
        if down["on"]:
            raise ConnectionRefusedError("database stopped")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(TaskStore, "queue_lengths", queue_lengths)
    settings = {
        "database_url": sqlite_url(tmp_path),
        "queue_length_refresh_seconds": 3600,
        "loop_backoff_max_seconds": 0.2,
        "loop_failure_tolerance_seconds": 0.5,
        "health_check_interval_seconds": 3600,  # only the loop's own refresh flips readiness
    }

    async def readiness(health: health_pb2_grpc.HealthStub) -> int:
        request = health_pb2.HealthCheckRequest(service="readiness")
        return (await health.Check(request, timeout=5)).status

    async def scenario() -> None:
        async with start_service(API_ENTRY, settings) as service:
            refresh = service.runtime.loops.loops["queue_length_refresh"]
            async with grpc.aio.insecure_channel(service.grpc_target) as channel:
                health = health_pb2_grpc.HealthStub(channel)
                while await readiness(health) != NOT_SERVING:  # beyond the tolerance
                    await asyncio.sleep(0.05)
                assert refresh.failures >= 1
                down["on"] = False  # the database is back
                # Bounded by the outer wait_for; the cap (0.2 s) is what makes it end.
                while await readiness(health) != SERVING:
                    await asyncio.sleep(0.05)
                assert refresh.healthy()
                code, body = service.health.ready_body()
                assert code == 200
                assert body["checks"]["loop:queue_length_refresh"]["status"] == "ok"

    asyncio.run(asyncio.wait_for(scenario(), 60))
