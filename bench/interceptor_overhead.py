"""Interceptor overhead: bare grpcio vs our observability stack vs the peer stack.

    .venv/bin/python bench/interceptor_overhead.py [--mode sync|aio|both] [--rounds 9]
                                                   [--seconds 0.5]

Unary echo (the conformance service's Unary) on 127.0.0.1, sequential (one call at a time)
and with 16 calls in flight. Every stack's server runs in a process of its own (so the server
never shares a GIL with the load-generating client, and stacks cannot disturb each other);
the client side of every stack runs in one client process per mode (sync and aio each get a
fresh one). Stacks are measured in alternating rounds so machine load drifts over all alike:
  bare          no interceptors;
  ours/server   libs.observability server interceptor (metrics + 100 %-sampled spans through a
                BatchSpanProcessor to a no-op exporter + a JSON access-log line per call to
                /dev/null);
  ours/echo     ours/server called WITHOUT `x-correlation-id`: the server generates one and
                echoes it in the initial metadata (a metadata batch of its own per call);
  ours/both     the same server, plus our client interceptors (client metrics, span,
                correlation id, access line at debug = off);
  peer/server   opentelemetry-instrumentation-grpc server interceptor + py-grpc-prometheus
                (histogram on); aio: OTel's aio server interceptor only (py-grpc-prometheus
                has no asyncio support);
  peer/both     the same plus their client interceptors.
Prints calls/s (median of rounds), the ratio to bare, and µs added per call; the last line
per mode prints the server CPU µs per call of each stack (from the server processes).
Goal (issue 3): ours >= 0.90x bare; peers measured at 0.70-0.78x on this machine class.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
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
from libs.observability import tracing  # noqa: E402
from libs.observability.testing import conformance as conf  # noqa: E402

IN_FLIGHT = 16
STACKS = ("bare", "ours/server", "ours/echo", "ours/both", "peer/server", "peer/both")
REQUEST = pb.ConformanceRequest(payload="x" * 32)
# Every caller in the fleet sends a correlation id (our client interceptors add one); the same
# metadata goes to every stack so bare and instrumented calls carry identical bytes.
MD = (("x-correlation-id", "0b6f8e8a-bench-4c1e-9f0a-3d2b1c0e9a77"),)


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


def setup_peer_tracing() -> Any:
    """The same provider set-up (batch processor, no-op exporter) for the peer stack."""
    tracing.configure("bench", exporters=[NoopExporter()], processor="batch")
    from opentelemetry import trace

    return trace.get_tracer_provider()


def peer_sync_server_interceptors() -> list[Any]:
    from opentelemetry.instrumentation.grpc import server_interceptor
    from py_grpc_prometheus.prometheus_server_interceptor import PromServerInterceptor

    return [server_interceptor(tracer_provider=setup_peer_tracing()),
            PromServerInterceptor(enable_handling_time_histogram=True)]


def peer_sync_client(channel: grpc.Channel) -> Any:
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import client_interceptor, grpcext
    from py_grpc_prometheus.prometheus_client_interceptor import PromClientInterceptor

    otel = client_interceptor(tracer_provider=trace.get_tracer_provider())
    prom = PromClientInterceptor(enable_client_handling_time_histogram=True)
    # OTel's client interceptor plugs in through its own grpcext wrapper.
    return grpcext.intercept_channel(grpc.intercept_channel(channel, prom), otel)


def peer_aio_server_interceptors() -> list[Any]:
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    return [aio_server_interceptor(tracer_provider=setup_peer_tracing())]


def peer_aio_client_interceptors() -> list[Any]:
    from opentelemetry import trace
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    return aio_client_interceptors(tracer_provider=trace.get_tracer_provider())


# --- server processes -------------------------------------------------------------------


def serve(stack: str, mode: str) -> int:
    """Child process: serve one stack, print its port, report CPU per call when stdin asks."""
    family = stack.split("/")[0]
    if mode == "sync":
        interceptors: list[Any] = (
            [] if family == "bare" else setup_ours().server_interceptors() if family == "ours"
            else peer_sync_server_interceptors()
        )
        server, target = conf.start_sync_server(interceptors, max_workers=IN_FLIGHT + 4)
        _serve_loop(target, lambda: None)
        server.stop(None)
        return 0

    async def main() -> None:
        interceptors: list[Any] = (
            [] if family == "bare" else setup_ours().aio_server_interceptors()
            if family == "ours" else peer_aio_server_interceptors()
        )
        server, target = await conf.start_aio_server(interceptors)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, _serve_loop, target, lambda: None)
        await server.stop(0.001)  # never 0: grpc.aio may segfault

    asyncio.run(main())
    return 0


def _serve_loop(target: str, _unused: Callable[[], None]) -> None:
    print(target, flush=True)
    for line in sys.stdin:  # "cpu" -> process CPU seconds so far; EOF -> stop
        if line.strip() == "cpu":
            print(f"{time.process_time():.6f}", flush=True)


class ServerProcess:
    def __init__(self, stack: str, mode: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve", stack, "--mode", mode],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
        )
        assert self.proc.stdout is not None
        self.target = self.proc.stdout.readline().strip()
        if not self.target:
            raise RuntimeError(f"server for {stack} did not start")

    def cpu(self) -> float:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("cpu\n")
        self.proc.stdin.flush()
        return float(self.proc.stdout.readline())

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# --- sync clients -----------------------------------------------------------------------


def rotated(round_no: int) -> list[str]:
    """The stacks in a different order each round: no stack always runs right after the
    same neighbour (or first, when the machine has just been idle)."""
    k = round_no % len(STACKS)
    return [*STACKS[k:], *STACKS[:k]]


def metadata_for(stack: str) -> Any:
    return None if stack == "ours/echo" else MD


def sync_sequential(stub: Any, seconds: float, md: Any) -> tuple[float, int]:
    n = 0
    end = time.perf_counter() + seconds
    start = time.perf_counter()
    while time.perf_counter() < end:
        for _ in range(20):
            stub.Unary(REQUEST, metadata=md)
        n += 20
    return n / (time.perf_counter() - start), n


def sync_in_flight(stub: Any, seconds: float, md: Any) -> tuple[float, int]:
    """16 caller threads, each with one blocking call outstanding at a time."""
    counts = [0] * IN_FLIGHT
    stop_at = time.perf_counter() + seconds

    def caller(i: int) -> None:
        while time.perf_counter() < stop_at:
            stub.Unary(REQUEST, metadata=md)
            counts[i] += 1

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(IN_FLIGHT)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.perf_counter() - start), sum(counts)


Results = dict[str, dict[str, list[float]]]


def run_sync(rounds: int, seconds: float) -> tuple[Results, dict[str, float]]:
    obs = setup_ours()
    wrap: dict[str, Callable[[grpc.Channel, str], Any]] = {
        "bare": lambda c, t: c,
        "ours/server": lambda c, t: c,
        "ours/echo": lambda c, t: c,
        "ours/both": lambda c, t: grpc.intercept_channel(c, *obs.client_interceptors(t)),
        "peer/server": lambda c, t: c,
        "peer/both": lambda c, t: peer_sync_client(c),
    }
    servers = {name: ServerProcess(name, "sync") for name in STACKS}
    try:
        stubs = {}
        for name, server in servers.items():
            channel = wrap[name](grpc.insecure_channel(server.target), server.target)
            stubs[name] = pb_grpc.ConformanceServiceStub(channel)
            for _ in range(200):  # warm up: connection, method caches
                stubs[name].Unary(REQUEST, metadata=metadata_for(name))
        results: Results = {"sequential": {}, "16 in flight": {}}
        cpu = dict.fromkeys(STACKS, 0.0)
        calls = dict.fromkeys(STACKS, 0)
        for r in range(rounds):
            for name in rotated(r):
                stub = stubs[name]
                before = servers[name].cpu()
                for scenario, fn in (("sequential", sync_sequential),
                                     ("16 in flight", sync_in_flight)):
                    rate, n = fn(stub, seconds, metadata_for(name))
                    results[scenario].setdefault(name, []).append(rate)
                    calls[name] += n
                cpu[name] += servers[name].cpu() - before
    finally:
        for server in servers.values():
            server.stop()
    obs.shutdown()
    return results, {k: cpu[k] / max(calls[k], 1) for k in STACKS}


# --- aio clients ------------------------------------------------------------------------


async def aio_sequential(stub: Any, seconds: float, md: Any) -> tuple[float, int]:
    n = 0
    start = time.perf_counter()
    end = start + seconds
    while time.perf_counter() < end:
        for _ in range(20):
            await stub.Unary(REQUEST, metadata=md)
        n += 20
    return n / (time.perf_counter() - start), n


async def aio_in_flight(stub: Any, seconds: float, md: Any) -> tuple[float, int]:
    count = 0
    end = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal count
        while time.perf_counter() < end:
            await stub.Unary(REQUEST, metadata=md)
            count += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return count / (time.perf_counter() - start), count


async def run_aio_async(rounds: int, seconds: float) -> tuple[Results, dict[str, float]]:
    obs = setup_ours()
    client_ic: dict[str, Callable[[str], list[Any]]] = {
        "bare": lambda t: [],
        "ours/server": lambda t: [],
        "ours/echo": lambda t: [],
        "ours/both": obs.aio_client_interceptors,
        "peer/server": lambda t: [],
        "peer/both": lambda t: peer_aio_client_interceptors(),
    }
    servers = {name: ServerProcess(name, "aio") for name in STACKS}
    channels = []
    try:
        stubs = {}
        for name, server in servers.items():
            channel = aio.insecure_channel(server.target,
                                           interceptors=client_ic[name](server.target) or None)
            channels.append(channel)
            stubs[name] = pb_grpc.ConformanceServiceStub(channel)
            for _ in range(200):
                await stubs[name].Unary(REQUEST, metadata=metadata_for(name))
        results: Results = {"sequential": {}, "16 in flight": {}}
        cpu = dict.fromkeys(STACKS, 0.0)
        calls = dict.fromkeys(STACKS, 0)
        for r in range(rounds):
            for name in rotated(r):
                stub = stubs[name]
                before = servers[name].cpu()
                for scenario, fn in (("sequential", aio_sequential),
                                     ("16 in flight", aio_in_flight)):
                    rate, n = await fn(stub, seconds, metadata_for(name))
                    results[scenario].setdefault(name, []).append(rate)
                    calls[name] += n
                cpu[name] += servers[name].cpu() - before
        for channel in channels:
            await channel.close()
    finally:
        for server in servers.values():
            server.stop()
    obs.shutdown()
    return results, {k: cpu[k] / max(calls[k], 1) for k in STACKS}


# --- report -----------------------------------------------------------------------------


def report(mode: str, results: Results, cpu_per_call: dict[str, float]) -> None:
    for scenario, by_stack in results.items():
        bare = statistics.median(by_stack["bare"])
        print(f"\n[{mode}] unary echo, {scenario}  (median of {len(by_stack['bare'])} rounds)")
        print(f"  {'stack':<13} {'calls/s':>9} {'x bare':>7} {'µs added/call':>14}")
        for name in STACKS:
            rate = statistics.median(by_stack[name])
            added = (1e6 / rate - 1e6 / bare) if rate else float("nan")
            print(f"  {name:<13} {rate:9.0f} {rate / bare:7.2f} {added:14.1f}")
    print(f"[{mode}] server CPU µs/call: "
          + ", ".join(f"{k} {v * 1e6:.0f}" for k, v in cpu_per_call.items()), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mode", choices=["sync", "aio", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.5, help="per stack per round")
    parser.add_argument("--serve", choices=STACKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        return serve(args.serve, args.mode)
    if args.mode == "both":
        # Each mode's clients in a fresh process: no threads or providers left over from
        # the other mode.
        for mode in ("sync", "aio"):
            rc = subprocess.call([sys.executable, __file__, "--mode", mode,
                                  "--rounds", str(args.rounds), "--seconds", str(args.seconds)])
            if rc:
                return rc
        return 0
    if args.mode == "sync":
        report("sync", *run_sync(args.rounds, args.seconds))
    else:
        report("aio", *asyncio.run(run_aio_async(args.rounds, args.seconds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
