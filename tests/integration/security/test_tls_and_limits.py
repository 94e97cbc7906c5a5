"""TLS and mutual TLS from certificate files made in the test; message size limits enforced
by grpc itself; the sync (thread-pool) server flavour of the security interceptors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
from grpc import aio

import libs.observability as observability
from libs.observability.testing.conformance import SERVICE, SyncConformance, start_sync_server
from libs.runtime.config import ServiceSettings, load_settings
from libs.runtime.server import start_service
from libs.security.client_side import ClientSecurity, channel_credentials
from libs.security.identity import current_identity
from libs.security.runtime_hooks import ServerSecurity
from tests.integration.security import probe
from tests.integration.security.material import TOKENS, bearer, make_pki, write_tokens_file


def run(coro: Any, timeout: float = 60) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


async def call(channel: aio.Channel, metadata: Any = ()) -> tuple[grpc.StatusCode, str]:
    try:
        reply = await pb_grpc.ConformanceServiceStub(channel).Unary(
            pb.ConformanceRequest(), metadata=metadata, timeout=5
        )
    except aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, reply.payload


def port_of(target: str) -> str:
    return target.rsplit(":", 1)[1]


def test_tls_serves_tls_clients_and_refuses_plaintext(tmp_path):
    pki = make_pki(tmp_path)
    overrides = {"tls_cert_file": str(pki.server_cert), "tls_key_file": str(pki.server_key)}

    async def scenario() -> None:
        async with start_service(probe.ENTRY, overrides) as svc:
            creds = channel_credentials(str(pki.ca))
            async with aio.secure_channel(svc.grpc_target, creds) as channel:
                code, payload = await call(channel)
                assert code is grpc.StatusCode.OK, payload
            # by name too: the certificate names localhost
            target = f"localhost:{port_of(svc.grpc_target)}"
            async with aio.secure_channel(target, creds) as channel:
                assert (await call(channel))[0] is grpc.StatusCode.OK
            async with aio.insecure_channel(svc.grpc_target) as channel:
                assert (await call(channel))[0] is grpc.StatusCode.UNAVAILABLE
            # a client trusting another CA does not accept our server
            other = channel_credentials(str(pki.other_ca))
            async with aio.secure_channel(svc.grpc_target, other) as channel:
                assert (await call(channel))[0] is grpc.StatusCode.UNAVAILABLE
            # the runtime's own client (settings → ClientSecurity) speaks TLS
            client_settings = load_settings(ServiceSettings, {"tls_ca_file": str(pki.ca)}).security
            security = ClientSecurity.from_settings(client_settings)
            async with svc.runtime.channel(svc.grpc_target, security=security) as channel:
                assert (await call(channel))[0] is grpc.StatusCode.OK

    run(scenario())


def test_mtls_requires_a_client_certificate_from_our_ca(tmp_path):
    pki = make_pki(tmp_path)
    token_file = tmp_path / "worker-token"
    token_file.write_text(TOKENS["worker-1"][0])
    overrides = {
        "tls_cert_file": str(pki.server_cert),
        "tls_key_file": str(pki.server_key),
        "tls_client_ca_file": str(pki.ca),
        "auth_mode": "token",
        "tokens_file": str(write_tokens_file(tmp_path / "tokens")),
    }

    async def scenario() -> None:
        async with start_service(probe.ENTRY, overrides) as svc:
            no_cert = channel_credentials(str(pki.ca))
            async with aio.secure_channel(svc.grpc_target, no_cert) as channel:
                assert (await call(channel, bearer("alice")))[0] is grpc.StatusCode.UNAVAILABLE
            rogue = channel_credentials(
                str(pki.ca), str(pki.rogue_client_cert), str(pki.rogue_client_key)
            )
            async with aio.secure_channel(svc.grpc_target, rogue) as channel:
                assert (await call(channel, bearer("alice")))[0] is grpc.StatusCode.UNAVAILABLE
            good = channel_credentials(str(pki.ca), str(pki.client_cert), str(pki.client_key))
            async with aio.secure_channel(svc.grpc_target, good) as channel:
                code, payload = await call(channel, bearer("alice"))
                assert code is grpc.StatusCode.OK, payload
                assert json.loads(payload)["subject"] == "alice"
                # TLS does not replace the token: mTLS + no token is still UNAUTHENTICATED
                assert (await call(channel))[0] is grpc.StatusCode.UNAUTHENTICATED
            # service-to-service: settings give cert + key + CA + token to runtime channels
            client_settings = load_settings(
                ServiceSettings,
                {
                    "tls_ca_file": str(pki.ca),
                    "tls_client_cert_file": str(pki.client_cert),
                    "tls_client_key_file": str(pki.client_key),
                    "client_token_file": str(token_file),
                },
            ).security
            security = ClientSecurity.from_settings(client_settings)
            async with svc.runtime.channel(svc.grpc_target, security=security) as channel:
                code, payload = await call(channel)
                assert code is grpc.StatusCode.OK, payload
                assert json.loads(payload)["subject"] == "worker-1"

    run(scenario())


def test_message_size_limits_are_enforced_by_grpc(tmp_path):
    limit = 64 * 1024

    async def scenario() -> None:
        async with start_service(probe.ENTRY, {"max_message_bytes": limit}) as svc:
            stub_target = svc.grpc_target
            big = "x" * (limit + 1024)
            # a client that allows big messages: the *server* refuses the request
            async with aio.insecure_channel(stub_target) as channel:
                stub = pb_grpc.ConformanceServiceStub(channel)
                with pytest.raises(aio.AioRpcError) as info:
                    await stub.Unary(
                        pb.ConformanceRequest(behavior=pb.Behavior.BEHAVIOR_OK, payload=big),
                        timeout=5,
                    )
                assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
                ok = await stub.Unary(
                    pb.ConformanceRequest(behavior=pb.Behavior.BEHAVIOR_OK, payload="x" * 1000),
                    timeout=5,
                )
                assert len(ok.payload) == 1000
            # the runtime's client has the same limit: refused before it leaves the process
            async with svc.channel(max_message_bytes=limit) as channel:
                with pytest.raises(aio.AioRpcError) as info:
                    await pb_grpc.ConformanceServiceStub(channel).Unary(
                        pb.ConformanceRequest(behavior=pb.Behavior.BEHAVIOR_OK, payload=big)
                    )
                assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            # a response bigger than the client's receive limit (the server echoes payloads)
            small_client = [("grpc.max_receive_message_length", 4096)]
            async with aio.insecure_channel(stub_target, options=small_client) as channel:
                with pytest.raises(aio.AioRpcError) as info:
                    await pb_grpc.ConformanceServiceStub(channel).Unary(
                        pb.ConformanceRequest(behavior=pb.Behavior.BEHAVIOR_OK, payload="y" * 8000),
                        timeout=5,
                    )
                assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED

    run(scenario())


class WhoAmI(SyncConformance):
    def Unary(self, request: Any, context: Any) -> Any:
        identity = current_identity()
        return pb.ConformanceResponse(payload=identity.subject if identity else "")


def test_sync_server_flavour(tmp_path, capsys):
    settings = load_settings(
        ServiceSettings,
        {"auth_mode": "token", "tokens_file": str(write_tokens_file(tmp_path / "tokens"))},
    )
    obs = observability.setup("sync-probe")
    security = ServerSecurity.from_settings(settings.security)
    server, target = start_sync_server(
        security.sync_interceptors(obs.server_interceptors()), WhoAmI()
    )
    try:
        with grpc.insecure_channel(target) as channel:
            stub = pb_grpc.ConformanceServiceStub(channel)
            req = pb.ConformanceRequest(behavior=pb.Behavior.BEHAVIOR_OK)
            for md in ((), (("authorization", "Bearer nope"),)):
                with pytest.raises(grpc.RpcError) as info:
                    stub.Unary(req, metadata=md, timeout=5)
                assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
                with pytest.raises(grpc.RpcError) as info:
                    list(stub.ServerStream(req, metadata=md, timeout=5))
                assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
            md = (*bearer("bob"), ("x-user-id", "mallory"))
            assert stub.Unary(req, metadata=md, timeout=5).payload == "bob"
            assert len(list(stub.ServerStream(req, metadata=md, timeout=5))) == 1
            # the next call on the same pool thread is not bob: nothing leaks between calls
            with pytest.raises(grpc.RpcError):
                stub.Unary(req, timeout=5)
            # an undecodable request: INVALID_ARGUMENT (the sync server alone says INTERNAL)
            raw = channel.unary_unary(f"/{SERVICE}/Unary", None, None)
            with pytest.raises(grpc.RpcError) as info:
                raw(b"\x0a\xff\xff\xff\xff\x0f", metadata=bearer("bob"), timeout=5)
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        # the blocking client factory with a service token (CLI-style clients)
        from libs.runtime.client import create_sync_channel
        from libs.security.client_side import TokenSource

        security = ClientSecurity(token=TokenSource(token=TOKENS["root"][0]))
        with create_sync_channel(target, security=security) as channel:
            stub = pb_grpc.ConformanceServiceStub(channel)
            assert stub.Unary(pb.ConformanceRequest(), timeout=5).payload == "root"
    finally:
        server.stop(0)
    users = set()
    for raw in capsys.readouterr().out.splitlines():
        if '"finished call"' in raw:
            users.add(json.loads(raw).get("userId"))
    assert "bob" in users and "mallory" not in users
