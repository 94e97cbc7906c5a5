"""GetSloReport from a real service's /metrics, and from a real Prometheus scraping it.

The member serves 10 calls sleeping 300 ms, 5 failing INTERNAL (HTTP 500) and 5 failing
NOT_FOUND (404): error rate 5/20; the p95 of handling time lies in the (0.25 s, 0.5 s]
bucket of the default histogram buckets."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request

import grpc
import pytest
from bytebot.telemetry.v1 import telemetry_pb2 as pb
from bytebot.testing.v1 import conformance_pb2 as cpb
from bytebot.testing.v1 import conformance_pb2_grpc as cpb_grpc

from libs.runtime.server import start_service
from libs.status.errors import field_violations
from services.telemetry.main import ENTRY as TELEMETRY
from tests.integration.telemetry.conftest import MEMBER, run, telemetry_stub, unused_target

B = cpb.Behavior


async def traffic(member) -> None:
    stub = cpb_grpc.ConformanceServiceStub(member.channel())

    async def call(request):
        try:
            await stub.Unary(request)
        except grpc.aio.AioRpcError:
            pass

    await asyncio.gather(
        *(call(cpb.ConformanceRequest(behavior=B.BEHAVIOR_SLEEP, sleep_ms=300))
          for _ in range(10)),
        *(call(cpb.ConformanceRequest(behavior=B.BEHAVIOR_ABORT, code=13, message="boom"))
          for _ in range(5)),
        *(call(cpb.ConformanceRequest(behavior=B.BEHAVIOR_ABORT, code=5, message="nope"))
          for _ in range(5)),
    )


def indicators(report) -> dict[str, pb.SloIndicator]:
    return {i.name: i for i in report.indicators}


def check_report(report) -> None:
    ind = indicators(report)
    assert [i.name for i in report.indicators] == [
        "api_response_time_p95", "task_processing_time_p95", "computer_operation_latency_p95",
        "database_query_time_p95", "memory_usage", "cpu_usage", "error_rate",
    ]
    api = ind["api_response_time_p95"]
    assert api.has_value and 0.25 < api.current <= 0.5, api
    assert api.state == pb.SLO_STATE_WARNING  # above 200 ms, below 2 s
    errors = ind["error_rate"]
    assert errors.has_value and errors.current == pytest.approx(0.25, rel=0.02)
    assert errors.state == pb.SLO_STATE_BREACHED
    for name in ("task_processing_time_p95", "computer_operation_latency_p95",
                 "database_query_time_p95"):
        assert not ind[name].has_value and ind[name].state == pb.SLO_STATE_NO_DATA
    assert ind["memory_usage"].has_value and 0 < ind["memory_usage"].current < 1
    assert ind["cpu_usage"].has_value and ind["cpu_usage"].current >= 0
    assert all(i.query for i in report.indicators)


def test_slo_report_from_the_services_metrics(tmp_path):
    async def body():
        async with start_service(MEMBER) as member:
            async with start_service(TELEMETRY, {
                "services": {"member": member.grpc_target},
                "metrics_urls": {"member": f"{member.http_url}/metrics",
                                 "down": f"http://{unused_target()}/metrics"},
            }) as telemetry:
                stub = telemetry_stub(telemetry)
                # A first report makes telemetry keep a sample from before the traffic: the
                # member lives in this (long-running) test process, so its process start
                # lies before the window and the window's increase needs that baseline.
                await stub.GetSloReport(pb.GetSloReportRequest())
                await traffic(member)
                report = await stub.GetSloReport(pb.GetSloReportRequest())
                assert report.source == "metrics"
                check_report(report)
                assert "[300s]" in indicators(report)["error_rate"].query
                request = pb.GetSloReportRequest()
                request.window.FromSeconds(30)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await stub.GetSloReport(request)
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert field_violations(info.value)[0].field == "window"

    run(body())


def _query(base: str, expr: str) -> list:
    url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())["data"]["result"]


async def _wait_for(base: str, expr: str, predicate, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = await asyncio.to_thread(_query, base, expr)
            if predicate(result):
                return result
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"Prometheus: {expr} never satisfied the condition")
        await asyncio.sleep(0.3)


@pytest.mark.skipif(shutil.which("prometheus") is None, reason="the prometheus binary is missing")
def test_slo_report_from_a_real_prometheus(tmp_path):
    async def body():
        async with start_service(MEMBER) as member:
            host_port = member.http_url.removeprefix("http://")
            (tmp_path / "prometheus.yml").write_text(
                "global: {scrape_interval: 1s}\n"
                "scrape_configs:\n"
                "  - job_name: bytebot-member\n"
                f"    static_configs: [{{targets: ['{host_port}']}}]\n"
            )
            listen = unused_target()
            base = f"http://{listen}"
            prometheus = subprocess.Popen(
                ["prometheus", f"--config.file={tmp_path / 'prometheus.yml'}",
                 f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address={listen}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
            try:
                # a scrape before the traffic, so rate() sees the counters grow
                await _wait_for(base, 'up{job="bytebot-member"}',
                                lambda r: r and r[0]["value"][1] == "1")
                await traffic(member)
                await _wait_for(base, 'sum(bytebot_api_requests_total{job="bytebot-member"})',
                                lambda r: r and float(r[0]["value"][1]) >= 20)
                async with start_service(TELEMETRY, {
                    "services": {"member": member.grpc_target},
                    "prometheus_url": base,
                    "prometheus_selector": 'job="bytebot-member"',
                }) as telemetry:
                    request = pb.GetSloReportRequest()
                    request.window.FromSeconds(60)
                    report = await telemetry_stub(telemetry).GetSloReport(request)
                    assert report.source == "prometheus"
                    check_report(report)
                    assert 'job="bytebot-member"' in indicators(report)["error_rate"].query
            finally:
                prometheus.terminate()
                prometheus.wait(10)

    run(body(), timeout=90)


def test_unreachable_prometheus_is_unavailable():
    async def body():
        async with start_service(TELEMETRY, {
            "services": {"x": unused_target()},
            "prometheus_url": f"http://{unused_target()}",
        }) as telemetry:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await telemetry_stub(telemetry).GetSloReport(pb.GetSloReportRequest())
            assert info.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "Prometheus" in info.value.details()

    run(body())
