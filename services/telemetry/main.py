"""`bytebot serve telemetry`: the fleet's view of itself."""

from __future__ import annotations

from bytebot.telemetry.v1 import telemetry_pb2_grpc

from libs.runtime.server import RuntimeContext, ServiceEntry, ServiceSpec, StartupStep
from services.telemetry.config import SERVICE, TelemetrySettings
from services.telemetry.servicer import TelemetryServicer

SERVICE_NAME = SERVICE.grpc_services[0]  # from the generated descriptor


def build(settings: TelemetrySettings, runtime: RuntimeContext) -> ServiceSpec:
    servicer = TelemetryServicer(settings, runtime.registry, runtime.loops)
    return ServiceSpec(
        servicers=[(telemetry_pb2_grpc.add_TelemetryServiceServicer_to_server, servicer)],
        service_names=[SERVICE_NAME],
        startup_steps=[StartupStep("fleet_probe", servicer.start)],
        readiness_checks={"fleet_probe_loop": servicer.check_probe_loop},
        shutdown_hooks=[servicer.close],
    )


ENTRY = ServiceEntry(name=SERVICE.name, settings_cls=TelemetrySettings, build=build)
