"""Interceptor overhead: bare grpcio vs our observability stack vs the peer stack.

    .venv/bin/python bench/interceptor_overhead.py [--mode sync|aio|both] [--rounds 5]
                                                   [--seconds 1.0]

Unary echo (the conformance service's Unary), in one process, on 127.0.0.1:
  * sequential (one call at a time) and 16 calls in flight;
  * stacks, measured in alternating rounds so drift hits all of them alike:
      bare          no interceptors;
      ours/server   libs.observability server interceptor (metrics + 100 %-sampled spans
                    through a BatchSpanProcessor to a no-op exporter + a JSON access-log line
                    per call to /dev/null);
      ours/both     the same on the client too (client metrics, span, correlation id);
      peer/server   opentelemetry-instrumentation-grpc server interceptor + py-grpc-prometheus
                    (histogram on); aio: OTel's aio server interceptor only (py-grpc-prometheus
                    has no asyncio support);
      peer/both     the same plus their client interceptors.
Prints calls/s (median of rounds), the ratio to bare, and µs added per call.
Goal (issue 3): ours >= 0.90x bare; peers measured at 0.70-0.78x on this machine class.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "protos")]

import grpc  # noqa: E402
from bytebot.testing.v1 import conformance_pb2 as pb  # noqa: E402
from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc  # noqa: E402
from grpc import aio  # noqa: E402
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult  # noqa: E402
from prometheus_client import CollectorRegistry  # noqa: E402

import libs.observability as observability  # noqa: E402
from libs.observability.testing import conformance as conf  # noqa: E402

IN_FLIGHT = 16


class NoopExporter(SpanExporter):
    """Spans go through the batch processor's queue and export path, then nowhere."""

    def export(self, spans: Any) -> SpanExportResult:
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


def setup_ours() -> Any:
    devnull = open(os.devnull, "w")
    obs = observability.setup(
        "bench", "0", "bench", log_level="info", registry=CollectorRegistry(),
        log_stream=devnull, span_exporters=[NoopExporter()], span_processor="batch",
    )
    obs.precreate([conf.SERVICE])
    return obs


def peer_sync_interceptors() -> tuple[list[Any], list[Any]]:
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import client_interceptor, server_interceptor
    from py_grpc_prometheus.prometheus_client_interceptor import PromClientInterceptor
    from py_grpc_prometheus.prometheus_server_interceptor import PromServerInterceptor

    provider = trace.get_tracer_provider()
    server = [server_interceptor(tracer_provider=provider),
              PromServerInterceptor(enable_handling_time_histogram=True)]
    otel_client = client_interceptor(tracer_provider=provider)
    prom_client = PromClientInterceptor(enable_client_handling_time_histogram=True)

    def client(channel: grpc.Channel) -> Any:
        from opentelemetry.instrumentation.grpc import grpcext

        # OTel's client interceptor plugs in through its own grpcext wrapper.
        return grpcext.intercept_channel(grpc.intercept_channel(channel, prom_client),
                                         otel_client)

    return server, client


def peer_aio_interceptors() -> tuple[list[Any], list[Any]]:
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import aio_client_interceptors, aio_server_interceptor

    provider = trace.get_tracer_provider()
    return [aio_server_interceptor(tracer_provider=provider)], aio_client_interceptors(
        tracer_provider=provider
    )


REQUEST = pb.ConformanceRequest(payload="x" * 32)
# Every caller in the fleet sends a correlation id (our client interceptors do); the same
# metadata goes to every stack so bare and instrumented calls carry identical bytes.
MD = (("x-correlation-id", "0b6f8e8a-bench-4c1e-9f0a-3d2b1c0e9a77"),)


# --- sync -------------------------------------------------------------------------------


def sync_sequential(stub: Any, seconds: float) -> float:
    n = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        for _ in range(20):
            stub.Unary(REQUEST, metadata=MD)
        n += 20
    return n / (time.perf_counter() - start)


def sync_in_flight(stub: Any, seconds: float) -> float:
    """16 caller threads, each with one blocking call outstanding at a time."""
    counts = [0] * IN_FLIGHT
    stop_at = time.perf_counter() + seconds

    def caller(i: int) -> None:
        while time.perf_counter() < stop_at:
            stub.Unary(REQUEST, metadata=MD)
            counts[i] += 1

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(IN_FLIGHT)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start)


def run_sync(rounds: int, seconds: float) -> dict[str, dict[str, list[float]]]:
    obs = setup_ours()
    peer_server, peer_client = peer_sync_interceptors()
    def ours_client(channel: grpc.Channel, target: str) -> Any:
        return grpc.intercept_channel(channel, *obs.client_interceptors(target))

    stacks: dict[str, tuple[list[Any], Callable[[grpc.Channel, str], Any]]] = {
        "bare": ([], lambda c, t: c),
        "ours/server": (obs.server_interceptors(), lambda c, t: c),
        "ours/both": (obs.server_interceptors(), ours_client),
        "peer/server": (peer_server, lambda c, t: c),
        "peer/both": (peer_server, lambda c, t: peer_client(c)),
    }
    stubs, servers = {}, []
    for name, (server_ic, wrap) in stacks.items():
        server, target = conf.start_sync_server(server_ic, max_workers=IN_FLIGHT + 4)
        servers.append(server)
        channel = wrap(grpc.insecure_channel(target), target)
        stubs[name] = pb_grpc.ConformanceServiceStub(channel)
        for _ in range(200):  # warm up: connection, method caches
            stubs[name].Unary(REQUEST, metadata=MD)
    results: dict[str, dict[str, list[float]]] = {"sequential": {}, "16 in flight": {}}
    for _ in range(rounds):
        for name, stub in stubs.items():
            results["sequential"].setdefault(name, []).append(sync_sequential(stub, seconds))
            results["16 in flight"].setdefault(name, []).append(sync_in_flight(stub, seconds))
    for server in servers:
        server.stop(None)
    obs.shutdown()
    return results


# --- aio --------------------------------------------------------------------------------


async def aio_sequential(stub: Any, seconds: float) -> float:
    n = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            await stub.Unary(REQUEST, metadata=MD)
        n += 20
    return n / (time.perf_counter() - start)


async def aio_in_flight(stub: Any, seconds: float) -> float:
    count = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < end:
            await stub.Unary(REQUEST, metadata=MD)
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return count / (time.perf_counter() - start)


async def run_aio_async(rounds: int, seconds: float) -> dict[str, dict[str, list[float]]]:
    obs = setup_ours()
    peer_server, peer_client = peer_aio_interceptors()
    stacks: dict[str, tuple[list[Any], Callable[[str], list[Any]]]] = {
        "bare": ([], lambda t: []),
        "ours/server": (obs.aio_server_interceptors(), lambda t: []),
        "ours/both": (obs.aio_server_interceptors(), obs.aio_client_interceptors),
        "peer/server": (peer_server, lambda t: []),
        "peer/both": (peer_server, lambda t: peer_client),
    }
    stubs, servers, channels = {}, [], []
    for name, (server_ic, client_ic) in stacks.items():
        server, target = await conf.start_aio_server(server_ic)
        servers.append(server)
        channel = aio.insecure_channel(target, interceptors=client_ic(target) or None)
        channels.append(channel)
        stubs[name] = pb_grpc.ConformanceServiceStub(channel)
        for _ in range(200):
            await stubs[name].Unary(REQUEST, metadata=MD)
    results: dict[str, dict[str, list[float]]] = {"sequential": {}, "16 in flight": {}}
    for _ in range(rounds):
        for name, stub in stubs.items():
            results["sequential"].setdefault(name, []).append(await aio_sequential(stub, seconds))
            results["16 in flight"].setdefault(name, []).append(await aio_in_flight(stub, seconds))
    for channel in channels:
        await channel.close()
    for server in servers:
        await server.stop(None)
    obs.shutdown()
    return results


# --- report -----------------------------------------------------------------------------


def report(mode: str, results: dict[str, dict[str, list[float]]]) -> None:
    for scenario, by_stack in results.items():
        bare = statistics.median(by_stack["bare"])
        print(f"\n[{mode}] unary echo, {scenario}  (median of {len(by_stack['bare'])} rounds)")
        print(f"  {'stack':<13} {'calls/s':>9} {'x bare':>7} {'µs added/call':>14}")
        for name, values in by_stack.items():
            rate = statistics.median(values)
            added = (1e6 / rate - 1e6 / bare) if rate else float("nan")
            print(f"  {name:<13} {rate:9.0f} {rate / bare:7.2f} {added:14.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["sync", "aio", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0, help="per stack per round")
    args = parser.parse_args(argv)
    if args.mode in ("sync", "both"):
        report("sync", run_sync(args.rounds, args.seconds))
    if args.mode in ("aio", "both"):
        report("aio", asyncio.run(run_aio_async(args.rounds, args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
