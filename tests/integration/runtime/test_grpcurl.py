"""What an operator does with grpcurl against a `bytebot serve` process."""

from __future__ import annotations

import json
import subprocess

from tests.integration.runtime.conftest import ServerProcess, grpcurl_path

SERVICE = "bytebot.testing.v1.ConformanceService"


def grpcurl(
    server: ServerProcess, *rest: str, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess:
    """`grpcurl -plaintext OPTIONS... TARGET REST...`"""
    return subprocess.run(
        [grpcurl_path(), "-plaintext", *options, server.grpc_target, *rest],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_list(conformance_server):
    result = grpcurl(conformance_server, "list")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        SERVICE,
        "grpc.channelz.v1.Channelz",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
    ]


def test_describe_service(conformance_server):
    result = grpcurl(conformance_server, "describe", SERVICE)
    assert result.returncode == 0, result.stderr
    assert f"{SERVICE} is a service:" in result.stdout
    for line in (
        "rpc Unary ( .bytebot.testing.v1.ConformanceRequest ) returns "
        "( .bytebot.testing.v1.ConformanceResponse );",
        "rpc Bidi ( stream .bytebot.testing.v1.ConformanceRequest ) returns "
        "( stream .bytebot.testing.v1.ConformanceResponse );",
    ):
        assert line in result.stdout


def test_describe_method(conformance_server):
    """Fails against stock Python reflection (grpc/grpc#34743)."""
    result = grpcurl(conformance_server, "describe", f"{SERVICE}.ServerStream")
    assert result.returncode == 0, result.stderr
    assert f"{SERVICE}.ServerStream is a method:" in result.stdout
    assert (
        "rpc ServerStream ( .bytebot.testing.v1.ConformanceRequest ) returns "
        "( stream .bytebot.testing.v1.ConformanceResponse );"
    ) in result.stdout
    result = grpcurl(conformance_server, "describe", "grpc.health.v1.Health.Check")
    assert result.returncode == 0, result.stderr
    assert "grpc.health.v1.Health.Check is a method:" in result.stdout


def test_describe_message_and_field(conformance_server):
    result = grpcurl(conformance_server, "describe", "bytebot.testing.v1.ConformanceRequest")
    assert result.returncode == 0, result.stderr
    assert "bytebot.testing.v1.ConformanceRequest is a message:" in result.stdout
    assert "int32 sleep_ms = 4;" in result.stdout
    # the proto comments come along (generated descriptor set with source info)
    assert "// How long to sleep, for BEHAVIOR_SLEEP, in milliseconds." in result.stdout
    result = grpcurl(conformance_server, "describe", "bytebot.testing.v1.Behavior")
    assert result.returncode == 0, result.stderr
    assert "BEHAVIOR_SLEEP = 4;" in result.stdout
    result = grpcurl(
        conformance_server, "describe", "bytebot.testing.v1.ConformanceRequest.payload"
    )
    assert result.returncode == 0, result.stderr
    assert "string payload = 7;" in result.stdout


def test_invoke_with_data_and_correlation_header(conformance_server):
    result = grpcurl(
        conformance_server,
        f"{SERVICE}/Unary",
        options=(
            "-H",
            "x-correlation-id: grpcurl-1",
            "-d",
            '{"payload": "hello", "behavior": "BEHAVIOR_OK"}',
        ),
    )
    assert result.returncode == 0, result.stderr
    reply = json.loads(result.stdout)
    assert reply["payload"] == "hello"
    # proto3 JSON names: the documented descriptors carry json_name like protoc's output
    assert reply["correlationId"] == "grpcurl-1"
    assert reply["index"] == 1


def test_invalid_argument_through_grpcurl(conformance_server):
    result = grpcurl(
        conformance_server,
        f"{SERVICE}/Unary",
        options=("-d", '{"behavior": "BEHAVIOR_ABORT", "code": 3, "message": "bad step"}'),
    )
    assert result.returncode == 67  # grpcurl's exit code for InvalidArgument (64 + 3)
    assert "Code: InvalidArgument" in result.stderr
    assert "Message: bad step" in result.stderr


def health_check(server: ServerProcess, service: str) -> subprocess.CompletedProcess:
    return grpcurl(
        server, "grpc.health.v1.Health/Check", options=("-d", json.dumps({"service": service}))
    )


def test_health_checks(conformance_server):
    for name in ("readiness", "liveness", "startup", "", SERVICE):
        result = health_check(conformance_server, name)
        assert result.returncode == 0, (name, result.stderr)
        assert json.loads(result.stdout) == {"status": "SERVING"}, name


def test_unknown_health_service_is_not_found(conformance_server):
    result = health_check(conformance_server, "no.such.Service")
    assert result.returncode == 69  # grpcurl's exit code for NotFound (64 + 5)
    assert "Code: NotFound" in result.stderr
    assert "unknown health service 'no.such.Service'" in result.stderr
