"""Reflection v1 and v1alpha against a real runtime server, with the lookups grpcurl makes."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
from grpc_reflection.v1alpha import reflection_pb2 as v1alpha

from libs.runtime.reflection import ensure_v1_descriptor, find_file_containing_symbol
from libs.runtime.server import start_service
from libs.runtime.testing import ENTRY, SERVICE

ensure_v1_descriptor()
_POOL = descriptor_pool.Default()
V1_REQUEST = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionRequest")
)
V1_RESPONSE = message_factory.GetMessageClass(
    _POOL.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse")
)
VERSIONS = {
    "v1": ("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", V1_REQUEST, V1_RESPONSE),
    "v1alpha": (
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
        v1alpha.ServerReflectionRequest,
        v1alpha.ServerReflectionResponse,
    ),
}


async def ask(target: str, version: str, requests: list[dict]) -> list:
    path, request_cls, response_cls = VERSIONS[version]
    async with grpc.aio.insecure_channel(target) as channel:
        call = channel.stream_stream(
            path,
            request_serializer=request_cls.SerializeToString,
            response_deserializer=response_cls.FromString,
        )
        return [r async for r in call(iter(request_cls(**r) for r in requests), timeout=10)]


def file_names(response) -> set[str]:
    names = set()
    for raw in response.file_descriptor_response.file_descriptor_proto:
        proto = descriptor_pb2.FileDescriptorProto.FromString(raw)
        names.add(proto.name)
    return names


@pytest.mark.parametrize("version", ["v1", "v1alpha"])
def test_reflection_answers_grpcurl_lookups(version):
    async def scenario():
        async with start_service(ENTRY) as svc:
            responses = await ask(
                svc.grpc_target,
                version,
                [
                    {"list_services": ""},
                    {"file_containing_symbol": SERVICE},
                    {"file_containing_symbol": f"{SERVICE}.Unary"},  # grpc/grpc#34743
                    {"file_containing_symbol": "bytebot.testing.v1.ConformanceRequest"},
                    {"file_containing_symbol": "bytebot.testing.v1.ConformanceRequest.payload"},
                    {"file_containing_symbol": "bytebot.testing.v1.BEHAVIOR_SLEEP"},
                    {"file_containing_symbol": "grpc.health.v1.Health.Watch"},
                    {"file_containing_symbol": f"{SERVICE}.NoSuchMethod"},
                    {"file_by_filename": "bytebot/testing/v1/conformance.proto"},
                ],
            )
            listed = {s.name for s in responses[0].list_services_response.service}
            assert listed == {
                SERVICE,
                "grpc.channelz.v1.Channelz",
                "grpc.health.v1.Health",
                "grpc.reflection.v1.ServerReflection",
                "grpc.reflection.v1alpha.ServerReflection",
            }
            conformance = "bytebot/testing/v1/conformance.proto"
            for i in (1, 2, 3, 4, 5, 8):
                assert conformance in file_names(responses[i]), i
            assert any("health.proto" in n for n in file_names(responses[6]))
            assert responses[7].error_response.error_code == grpc.StatusCode.NOT_FOUND.value[0]
            assert responses[2].original_request.file_containing_symbol == f"{SERVICE}.Unary"
            # our files are served with their comments (tools/gen_protos.py descriptor set)
            protos = {
                p.name: p
                for p in map(
                    descriptor_pb2.FileDescriptorProto.FromString,
                    responses[8].file_descriptor_response.file_descriptor_proto,
                )
            }
            comments = [
                loc.leading_comments for loc in protos[conformance].source_code_info.location
            ]
            assert " Unary call.\n" in comments

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_v1_reflection_service_describes_itself():
    file_desc = find_file_containing_symbol(_POOL, "grpc.reflection.v1.ServerReflection")
    assert file_desc.name == "grpc/reflection/v1/reflection.proto"
    method = file_desc.services_by_name["ServerReflection"].methods_by_name["ServerReflectionInfo"]
    assert method.input_type.full_name == "grpc.reflection.v1.ServerReflectionRequest"
    # the copy is wire-identical to v1alpha: same field numbers
    v1 = _POOL.FindMessageTypeByName("grpc.reflection.v1.ServerReflectionResponse")
    alpha = v1alpha.ServerReflectionResponse.DESCRIPTOR
    assert {f.name: f.number for f in v1.fields} == {f.name: f.number for f in alpha.fields}


def test_stock_pool_cannot_find_methods_ours_can():
    with pytest.raises(KeyError):
        _POOL.FindFileContainingSymbol("grpc.health.v1.Health.Check")
    assert find_file_containing_symbol(_POOL, "grpc.health.v1.Health.Check").name.endswith(
        "health.proto"
    )
    # nested enum values are scoped inside their message
    assert find_file_containing_symbol(
        _POOL, "grpc.health.v1.HealthCheckResponse.SERVING"
    ).name.endswith("health.proto")
    with pytest.raises(KeyError):
        find_file_containing_symbol(_POOL, "grpc.health.v1.Health.Nope")
    with pytest.raises(KeyError):
        find_file_containing_symbol(_POOL, "no.such.Thing")
