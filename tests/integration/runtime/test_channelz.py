"""Channelz as operators use it (issue 15 item 1): real grpcurl against real `bytebot serve`
processes. Development mode (no authentication): listed by reflection, GetServers /
GetServerSockets / GetTopChannels answer, and channelz calls leave no RPC metric or access-log
line. `bytebot up --auth` (every service): the admin token may call it on each service, the
worker token is PERMISSION_DENIED, no token UNAUTHENTICATED."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import grpc
import pytest
from grpc_channelz.v1.channelz_pb2 import GetTopChannelsRequest
from grpc_channelz.v1.channelz_pb2_grpc import ChannelzStub

from tests.integration.runtime.conftest import ServerProcess, grpcurl_path
from tests.support.cli_env import cli_env
from tests.support.stack import UpProcess

CHANNELZ = "grpc.channelz.v1.Channelz"
SERVICE = "bytebot.testing.v1.ConformanceService"
EVERY_SERVICE = ("tasks-api", "tasks-worker", "computer", "inference", "telemetry")


def grpcurl(target: str, *rest: str, data: dict | None = None,
            headers: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`grpcurl -plaintext [-H header]... [-d data] TARGET REST...`"""
    options = [opt for h in headers for opt in ("-H", h)]
    if data is not None:
        options += ["-d", json.dumps(data)]
    return subprocess.run([grpcurl_path(), "-plaintext", *options, target, *rest],
                          capture_output=True, text=True, timeout=30)


def answer(target: str, method: str, data: dict | None = None,
           headers: tuple[str, ...] = ()) -> dict:
    result = grpcurl(target, f"{CHANNELZ}/{method}", data=data, headers=headers)
    assert result.returncode == 0, (target, method, result.stderr)
    return json.loads(result.stdout)


def test_listed_and_answering_in_development_mode(conformance_server: ServerProcess):
    target = conformance_server.grpc_target
    listed = grpcurl(target, "list")
    assert listed.returncode == 0, listed.stderr
    assert CHANNELZ in listed.stdout.split()
    described = grpcurl(target, "describe", f"{CHANNELZ}.GetServers")
    assert described.returncode == 0 and "is a method" in described.stdout, described.stderr

    call = grpcurl(target, f"{SERVICE}/Unary", data={"payload": "x"})
    assert call.returncode == 0, call.stderr
    (ours,) = answer(target, "GetServers")["server"]  # one gRPC server per process
    assert ours["listen_socket"], ours
    assert int(ours["data"]["calls_started"]) >= 1
    assert int(ours["data"]["calls_succeeded"]) >= 1
    sockets = answer(target, "GetServerSockets", {"server_id": ours["ref"]["server_id"]})
    assert sockets.get("end") is True
    assert "end" in answer(target, "GetTopChannels")

    # like health: no RPC metric series, no access-log line for channelz calls
    with urllib.request.urlopen(f"{conformance_server.http_url}/metrics", timeout=10) as r:
        metrics = r.read().decode()
    assert CHANNELZ not in metrics
    assert f'grpc_service="{SERVICE}"' in metrics  # the Unary call above is counted
    finished = [x for x in conformance_server.logs() if x.get("message") == "finished call"]
    assert finished and not any(CHANNELZ in json.dumps(x) for x in finished)


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory):
    stack = UpProcess(tmp_path_factory.mktemp("up-channelz"), {}, startup_timeout=150,
                      args=["--auth", "--no-demo"] if _has_no_demo() else ["--auth"],
                      base_env=cli_env())
    try:
        yield stack
    finally:
        assert stack.stop() == 0, stack.stderr()[-3000:]


def _has_no_demo() -> bool:
    """`bytebot up --no-demo` exists once the demo application lands (issue 15 item 4)."""
    from libs.stack import cli as stack_cli

    return "no-demo" in Path(stack_cli.__file__).read_text()


def test_admin_only_on_every_service_with_authentication(auth_stack: UpProcess):
    auth = auth_stack.endpoints["auth"]
    admin = Path(auth["client_token_file"]).read_text().strip()  # developer: user + admin
    worker = (Path(auth["tokens_file"]).parent / "worker-token").read_text().strip()
    as_admin = (f"authorization: Bearer {admin}",)
    assert set(auth_stack.services) >= set(EVERY_SERVICE)
    for service in EVERY_SERVICE:
        target = auth_stack.grpc(service)
        listed = grpcurl(target, "list", headers=as_admin)
        assert listed.returncode == 0 and CHANNELZ in listed.stdout.split(), (service, listed)
        servers = answer(target, "GetServers", headers=as_admin)["server"]
        assert servers and all(s["listen_socket"] for s in servers), service
        assert "end" in answer(target, "GetTopChannels", headers=as_admin), service

        denied = grpcurl(target, f"{CHANNELZ}/GetServers",
                         headers=(f"authorization: Bearer {worker}",))
        assert denied.returncode == 64 + 7, (service, denied.stderr)  # PermissionDenied
        assert "may only be called by role admin" in denied.stderr, denied.stderr
        # without a token grpcurl cannot even read the descriptors (reflection is guarded
        # too); the channelz service itself answers UNAUTHENTICATED to a plain stub
        anonymous = grpcurl(target, f"{CHANNELZ}/GetTopChannels")
        assert anonymous.returncode != 0 and "Unauthenticated" in anonymous.stderr, service
        with grpc.insecure_channel(target) as channel:
            with pytest.raises(grpc.RpcError) as info:
                ChannelzStub(channel).GetTopChannels(GetTopChannelsRequest(), timeout=10)
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED, service
    # a service that calls others shows its client channels (telemetry probes the fleet)
    channels = answer(auth_stack.grpc("telemetry"), "GetTopChannels", headers=as_admin)
    assert channels.get("channel"), channels
    assert any(c["data"].get("target") for c in channels["channel"])
