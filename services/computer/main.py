"""`bytebot serve computer`: the ComputerService on a real X display."""

from __future__ import annotations

from bytebot.computer.v1 import computer_pb2_grpc

from libs.runtime.server import RuntimeContext, ServiceEntry, ServiceSpec, StartupStep
from services.computer.config import SERVICE, ComputerSettings
from services.computer.servicer import ComputerServicer

SERVICE_NAME = SERVICE.grpc_services[0]  # from the generated descriptor


def build(settings: ComputerSettings, runtime: RuntimeContext) -> ServiceSpec:
    servicer = ComputerServicer(settings, runtime.registry)
    return ServiceSpec(
        servicers=[(computer_pb2_grpc.add_ComputerServiceServicer_to_server, servicer)],
        service_names=[SERVICE_NAME],
        startup_steps=[StartupStep("display", servicer.start_display)],
        readiness_checks={"display": servicer.check_display},
        shutdown_hooks=[servicer.close],
    )


ENTRY = ServiceEntry(name=SERVICE.name, settings_cls=ComputerSettings, build=build)
