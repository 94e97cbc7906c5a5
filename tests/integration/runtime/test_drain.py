"""SIGTERM on a real `bytebot serve` process: readiness drops while liveness stays, calls in
flight finish OK, new work is refused after the propagation window, the process exits 0."""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import grpc
from bytebot.testing.v1 import conformance_pb2 as pb
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.integration.runtime.conftest import ServerStartFailed, start_server, stop_server

# generous margins: the machine running the tests may be busy
SLOW_MS = 5000
PROPAGATION_S = 2.0


def http_status(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def started_unary_calls(http_url: str) -> float:
    with urllib.request.urlopen(f"{http_url}/metrics", timeout=5) as response:
        text = response.read().decode()
    match = re.search(
        r'grpc_server_started_total\{grpc_method="Unary",'
        r'grpc_service="bytebot.testing.v1.ConformanceService",grpc_type="unary"\} (\S+)',
        text,
    )
    return float(match.group(1)) if match else 0.0


def test_sigterm_drains_in_flight_calls_and_exits_zero():
    server = start_server(
        f"shutdown_propagation_seconds={PROPAGATION_S}", "shutdown_grace_seconds=15"
    )
    try:
        channel = grpc.insecure_channel(server.grpc_target)
        stub = pb_grpc.ConformanceServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)

        def status(name: str) -> int:
            request = health_pb2.HealthCheckRequest(service=name)
            return health.Check(request, timeout=5).status

        assert status("readiness") == health_pb2.HealthCheckResponse.SERVING
        slow = pb.ConformanceRequest(behavior=pb.BEHAVIOR_SLEEP, sleep_ms=SLOW_MS, payload="slow")
        stream = pb.ConformanceRequest(
            behavior=pb.BEHAVIOR_SLEEP, sleep_ms=SLOW_MS, count=3, payload="stream"
        )
        with ThreadPoolExecutor(4) as pool:
            unary = [pool.submit(stub.Unary, slow, timeout=30) for _ in range(3)]
            streamed = pool.submit(lambda: list(stub.ServerStream(stream, timeout=30)))
            deadline = time.monotonic() + 10
            while started_unary_calls(server.http_url) < 3:  # all three are in the handler
                assert time.monotonic() < deadline, "calls did not start"
                time.sleep(0.02)
            sent = time.monotonic()
            server.terminate()

            # propagation window: readiness, "" and the service go NOT_SERVING, liveness
            # stays SERVING, on gRPC and HTTP alike (bounded polling: the signal is async)
            while status("readiness") != health_pb2.HealthCheckResponse.NOT_SERVING:
                assert time.monotonic() - sent < PROPAGATION_S, "readiness did not drop"
                time.sleep(0.01)
            assert status("") == health_pb2.HealthCheckResponse.NOT_SERVING
            assert status("liveness") == health_pb2.HealthCheckResponse.SERVING
            code, body = http_status(f"{server.http_url}/health/ready")
            assert code == 503 and body["reason"] == "shutting down"
            assert http_status(f"{server.http_url}/health/live")[0] == 200

            # after the propagation window the listener is closed: new calls are refused
            # while the old ones are still running
            time.sleep(max(0.0, PROPAGATION_S + 0.4 - (time.monotonic() - sent)))
            assert not all(f.done() for f in unary)
            with grpc.insecure_channel(server.grpc_target) as fresh:
                try:
                    pb_grpc.ConformanceServiceStub(fresh).Unary(pb.ConformanceRequest(), timeout=2)
                except grpc.RpcError as err:
                    assert err.code() == grpc.StatusCode.UNAVAILABLE
                else:
                    raise AssertionError("a new call was accepted during the drain")

            # every call that was in flight completes with OK
            replies = [future.result(timeout=30) for future in unary]
            assert [r.payload for r in replies] == ["slow"] * 3
            assert [r.index for r in streamed.result(timeout=30)] == [0, 1, 2]
            drained_after = time.monotonic() - sent

        assert server.wait(timeout=30) == 0
        channel.close()
        messages = server.messages()
        assert "shutting down: readiness NOT_SERVING" in messages
        # nothing after the last line (the whole record shown if something is: its exception)
        assert messages[-1] == "service stopped", server.logs()[-1]
        # in-flight calls outlived the signal: the server waited for them
        assert drained_after > PROPAGATION_S
    finally:
        stop_server(server)


def test_second_signal_skips_the_remaining_grace():
    server = start_server("shutdown_propagation_seconds=0", "shutdown_grace_seconds=60")
    try:
        channel = grpc.insecure_channel(server.grpc_target)
        stub = pb_grpc.ConformanceServiceStub(channel)
        with ThreadPoolExecutor(1) as pool:
            hung = pool.submit(
                stub.Unary,
                pb.ConformanceRequest(behavior=pb.BEHAVIOR_SLEEP, sleep_ms=120_000),
                timeout=60,
            )
            deadline = time.monotonic() + 10
            while started_unary_calls(server.http_url) < 1:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            server.terminate()
            time.sleep(0.5)
            assert server.proc.poll() is None  # still draining the hung call
            server.terminate()
            assert server.wait(timeout=20) == 0
            try:
                hung.result(timeout=20)
            except grpc.RpcError as err:
                assert err.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
            else:
                raise AssertionError("the hung call cannot have succeeded")
        channel.close()
    finally:
        stop_server(server)


def test_failed_startup_exits_non_zero(tmp_path):
    gate = tmp_path / "never"
    try:
        start_server(f"startup_gate_file={gate}", "startup_timeout_seconds=0.5", timeout=20)
    except ServerStartFailed as err:
        assert err.exit_code == 1
        assert "start-up step failed" in err.output and "did not appear" in err.output
    else:
        raise AssertionError("start-up should have failed")
