"""A runtime service whose Unary answer says who the server thinks is calling: the
authenticated identity, the logs' user id and the time left of the call; with
`next_target` it calls the next hop through `runtime.channel()` (service-to-service auth,
deadline propagation) and returns that hop's answer inside its own."""

from __future__ import annotations

import json
from typing import Any

from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc

from libs.observability.correlation import get_user_id
from libs.observability.testing.conformance import SERVICE, AioConformance
from libs.runtime.config import ServiceSettings
from libs.runtime.server import RuntimeContext, ServiceEntry, ServiceSpec
from libs.security import current_identity


class ProbeServicer(AioConformance):
    def __init__(self, runtime: RuntimeContext) -> None:
        super().__init__(channel_factory=runtime.channel)
        self.runtime = runtime

    async def Unary(self, request: Any, context: Any) -> Any:
        if request.behavior != pb.Behavior.BEHAVIOR_CALL_NEXT and request.behavior:
            return await super().Unary(request, context)
        identity = current_identity()
        answer: dict[str, Any] = {
            "subject": identity.subject if identity else None,
            "roles": sorted(identity.roles) if identity else None,
            "user_id": get_user_id(),
            "remaining": context.time_remaining(),
        }
        if request.next_target:
            channel = self.runtime.channel(request.next_target)
            reply = await pb_grpc.ConformanceServiceStub(channel).Unary(pb.ConformanceRequest())
            answer["next"] = json.loads(reply.payload)
        return pb.ConformanceResponse(payload=json.dumps(answer), index=1)


def build(settings: ServiceSettings, runtime: RuntimeContext) -> ServiceSpec:
    return ServiceSpec(
        servicers=[(pb_grpc.add_ConformanceServiceServicer_to_server, ProbeServicer(runtime))],
        service_names=[SERVICE],
    )


ENTRY = ServiceEntry(name="security-probe", settings_cls=ServiceSettings, build=build)
