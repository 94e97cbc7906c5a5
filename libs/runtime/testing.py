"""A tiny service on the runtime, for tests of the runtime itself and of anything that talks
to a runtime server (health fan-out, `bytebot up`): the conformance service of
`libs.observability.testing` (all four RPC kinds; BEHAVIOR_SLEEP makes slow calls), plus a
start-up step and a readiness check that tests steer through files, so a subprocess can be
steered too:

    bytebot serve libs.runtime.testing:ENTRY --set ready_file=/tmp/x/ready

- `startup_gate_file`: the "warmup" step waits (bounded by `startup_timeout_seconds`) until
  this file exists, then reports "warmed";
- `ready_file`: the "ready_file" readiness check fails while this file is missing.
"""

from __future__ import annotations

import asyncio
import os

from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc

from libs.env_settings import Interval
from libs.observability.testing.conformance import SERVICE, AioConformance
from libs.runtime.config import ServiceSettings
from libs.runtime.server import RuntimeContext, ServiceEntry, ServiceSpec, StartupStep


class ConformanceSettings(ServiceSettings):
    # no registry entry: the base's free ports (0)
    ready_file: str | None = None
    startup_gate_file: str | None = None
    startup_timeout_seconds: Interval = 30.0


def build(settings: ConformanceSettings, runtime: RuntimeContext) -> ServiceSpec:
    servicer = AioConformance(channel_factory=runtime.channel)

    async def warmup() -> str:
        gate = settings.startup_gate_file
        if gate is None:
            return "warmed"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.startup_timeout_seconds
        while not os.path.exists(gate):
            if loop.time() > deadline:
                raise TimeoutError(f"{gate} did not appear")
            await asyncio.sleep(0.05)
        return "warmed"

    async def ready_file() -> None:
        path = settings.ready_file
        if path is not None and not os.path.exists(path):
            raise FileNotFoundError(f"{path} is missing")

    return ServiceSpec(
        servicers=[(pb_grpc.add_ConformanceServiceServicer_to_server, servicer)],
        service_names=[SERVICE],
        startup_steps=[StartupStep("warmup", warmup)],
        readiness_checks={"ready_file": ready_file},
    )


ENTRY = ServiceEntry(name="runtime-conformance", settings_cls=ConformanceSettings, build=build)

__all__ = ["ENTRY", "SERVICE", "ConformanceSettings"]
