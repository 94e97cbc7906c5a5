"""The fleet probe over TLS and mutual TLS: a member serving TLS (certificates made in the
test) is probed by a telemetry service configured with the client TLS settings; without them
the same member is UNREACHABLE (a plaintext probe cannot talk to a TLS port)."""

from __future__ import annotations

from bytebot.telemetry.v1 import telemetry_pb2 as pb

from libs.runtime.config import ServiceSettings, load_settings
from libs.runtime.server import start_service
from libs.security.client_side import ClientSecurity
from services.telemetry.fleet import plain_channel, probe_channel_factory
from services.telemetry.main import ENTRY as TELEMETRY
from tests.integration.security.material import make_pki
from tests.integration.telemetry.conftest import MEMBER, run, telemetry_stub

PROBES = ("liveness", "readiness", "startup")


def _statuses(response: pb.GetSystemHealthResponse) -> dict[str, dict[str, int]]:
    return {s.name: {p.probe: p.status for p in s.probes} for s in response.services}


def test_without_client_tls_settings_probes_stay_plaintext():
    assert probe_channel_factory(load_settings(ServiceSettings).security) is plain_channel


def test_telemetry_probes_a_tls_fleet_with_the_client_tls_settings(tmp_path):
    pki = make_pki(tmp_path)
    server_tls = {"tls_cert_file": str(pki.server_cert), "tls_key_file": str(pki.server_key)}
    mtls = {**server_tls, "tls_client_ca_file": str(pki.ca)}

    async def scenario() -> None:
        async with (
            start_service(MEMBER, server_tls) as tls_member,
            start_service(MEMBER, mtls) as mtls_member,
        ):
            fleet = {"tls": tls_member.grpc_target, "mtls": mtls_member.grpc_target}
            common = {"services": fleet, "metrics_urls": {}, "probe_timeout_seconds": 2.0}
            # trusts our CA and presents a client certificate: both members answer
            async with start_service(TELEMETRY, {
                **common, "tls_ca_file": str(pki.ca),
                "tls_client_cert_file": str(pki.client_cert),
                "tls_client_key_file": str(pki.client_key),
            }) as telemetry:
                # the telemetry server itself is plaintext: call it without TLS
                response = await telemetry_stub(
                    telemetry, security=ClientSecurity()).GetSystemHealth(
                    pb.GetSystemHealthRequest())
                assert response.status == pb.FLEET_STATUS_HEALTHY, response
                assert _statuses(response) == {
                    name: dict.fromkeys(PROBES, pb.SERVING_STATUS_SERVING) for name in fleet
                }
            # TLS without a client certificate: the mTLS member refuses the handshake
            async with start_service(TELEMETRY, {
                **common, "tls_ca_file": str(pki.ca),
            }) as telemetry:
                response = await telemetry_stub(
                    telemetry, security=ClientSecurity()).GetSystemHealth(
                    pb.GetSystemHealthRequest())
                by_name = {s.name: s for s in response.services}
                assert by_name["tls"].status == pb.SERVING_STATUS_SERVING
                assert by_name["mtls"].status == pb.SERVING_STATUS_UNREACHABLE
                assert response.status == pb.FLEET_STATUS_DEGRADED
            # no client TLS settings: plaintext probes cannot reach a TLS port
            async with start_service(TELEMETRY, common) as telemetry:
                response = await telemetry_stub(telemetry).GetSystemHealth(
                    pb.GetSystemHealthRequest())
                assert response.status == pb.FLEET_STATUS_UNHEALTHY
                for service in response.services:
                    assert service.status == pb.SERVING_STATUS_UNREACHABLE, service
                    assert all(p.error.startswith(("UNAVAILABLE", "DEADLINE_EXCEEDED"))
                               for p in service.probes), service

    run(scenario(), timeout=90)
