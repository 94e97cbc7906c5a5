"""`bytebot serve inference`: the InferenceService on the shared runtime."""

from __future__ import annotations

from bytebot.inference.v1 import inference_pb2_grpc

from libs.runtime.server import RuntimeContext, ServiceEntry, ServiceSpec, StartupStep
from services.inference.config import SERVICE, InferenceSettings
from services.inference.servicer import InferenceServicer

SERVICE_NAME = SERVICE.grpc_services[0]  # from the generated descriptor


def build(settings: InferenceSettings, runtime: RuntimeContext) -> ServiceSpec:
    servicer = InferenceServicer(settings, runtime.registry)
    return ServiceSpec(
        servicers=[(inference_pb2_grpc.add_InferenceServiceServicer_to_server, servicer)],
        service_names=[SERVICE_NAME],
        startup_steps=[StartupStep("ane_service_init", servicer.init_models)],
        readiness_checks={"ane_service": servicer.check},
        shutdown_hooks=[servicer.close],
    )


ENTRY = ServiceEntry(name=SERVICE.name, settings_cls=InferenceSettings, build=build)
