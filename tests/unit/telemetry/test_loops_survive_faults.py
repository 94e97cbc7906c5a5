"""Issue 17 item 4 for the telemetry service: its fleet-probe loop and SLO sampler are
supervised loops — an exception with an empty message (TimeoutError()) in a round is
counted and backed off, and the loop goes on (the next round happens)."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import CollectorRegistry

from libs.runtime import BackgroundLoops
from services.telemetry.config import TelemetrySettings
from services.telemetry.servicer import TelemetryServicer

METRIC = "bytebot_background_loop_failures_total"


def _failing_first(times: int, original: Any) -> Any:
    state = {"raised": 0}

    async def call(*args: Any, **kwargs: Any) -> Any:
        if state["raised"] < times:
            state["raised"] += 1
            raise TimeoutError()
        return await original(*args, **kwargs)

    return call


def test_probe_loop_and_sampler_survive_empty_timeouts() -> None:
    # nothing listens on these ports: every probe answers quickly with "unreachable"
    settings = TelemetrySettings(
        services={"tasks-api": "127.0.0.1:9"},
        metrics_urls={"tasks-api": "http://127.0.0.1:9/metrics"},
        probe_interval_seconds=0.02,
        probe_timeout_seconds=0.2,
        scrape_timeout_seconds=0.2,
        slo_sample_interval_seconds=0.02,
    )
    registry = CollectorRegistry()
    servicer = TelemetryServicer(settings, registry, BackgroundLoops(registry))

    async def scenario() -> None:
        await servicer.start()  # the start-up round works; the faults come after
        servicer.prober.check = _failing_first(2, servicer.prober.check)  # type: ignore[method-assign]
        servicer.metrics.scrape = _failing_first(2, servicer.metrics.scrape)  # type: ignore[method-assign]
        probe, sampler = servicer._probe_loop, servicer._sampler_loop
        try:
            async with asyncio.timeout(30):
                while not (probe.failures == 2 and probe.consecutive_failures == 0
                           and sampler.failures == 2 and sampler.consecutive_failures == 0):
                    await asyncio.sleep(0.02)
            rounds = servicer._last_round_at
            async with asyncio.timeout(30):
                while servicer._last_round_at == rounds:  # and it keeps probing
                    await asyncio.sleep(0.02)
            await servicer.check_probe_loop()  # readiness: the loop is alive and recent
        finally:
            await servicer.close()

    asyncio.run(scenario())
    assert registry.get_sample_value(METRIC, {"loop": "fleet_probe"}) == 2.0
    assert registry.get_sample_value(METRIC, {"loop": "slo_sampler"}) == 2.0
