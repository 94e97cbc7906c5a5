"""Does each private fast path in libs/_compat.py pay? Each against its public equivalent.

    .venv/bin/python bench/compat_fast_paths.py [--number 200000]

Prints µs per operation (best of 5 repeats, timeit) for the public API and for the fast
path. A fast path is kept only where it saves a measurable share of the per-call overhead
(bench/interceptor_overhead.py: ~80-300 µs of server CPU per call); the numbers go into the
accessor's comment in libs/_compat.py.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
import timeit
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from opentelemetry import context as otel_context  # noqa: E402
from opentelemetry import trace as trace_api  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter  # noqa: E402
from opentelemetry.trace import SpanKind  # noqa: E402
from prometheus_client import CollectorRegistry, Counter, Histogram  # noqa: E402

from libs import _compat  # noqa: E402
from libs.observability.metrics import FastHistogram  # noqa: E402


def best(stmt: object, number: int) -> float:
    """µs per call, best of 5."""
    return min(timeit.repeat(stmt, number=number, repeat=5)) / number * 1e6  # type: ignore[arg-type]


def row(what: str, public: float, fast: float) -> None:
    print(f"  {what:<46} public {public:6.2f} µs   fast {fast:6.2f} µs   "
          f"saves {public - fast:5.2f} µs")


class _Nowhere(SpanExporter):
    def export(self, spans: object) -> object:  # type: ignore[override]
        from opentelemetry.sdk.trace.export import SpanExportResult

        return SpanExportResult.SUCCESS


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--number", type=int, default=200_000)
    n = parser.parse_args().number

    registry = CollectorRegistry()
    counter = Counter("c_total", "c", ["a"], registry=registry).labels("x")
    private_inc = functools.partial(counter._value.inc, 1)  # dropped: did not pay
    row("counter inc (child._value.inc)", best(counter.inc, n), best(private_inc, n))

    hist = Histogram("h_seconds", "h", ["a"], registry=registry,
                     buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
                     ).labels("x")
    fast_hist = FastHistogram(hist)
    tid = "0af7651916cd43dd8448eb211c80319c"
    row("histogram observe + exemplar (_buckets, _sum)",
        best(lambda: hist.observe(0.0004, {"trace_id": tid}), n // 4),
        best(lambda: fast_hist.observe(0.0004, tid), n // 4))

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(_Nowhere()))
    tracer = provider.get_tracer("bench")
    span = tracer.start_span("s")
    multi = tracer.span_processor

    def all_hooks() -> None:
        multi.on_start(span, parent_context=None)
        multi._on_ending(span)

    def checked() -> None:
        multi._span_processors  # noqa: B018  # the private list read per span; dropped: did not pay

    row("span processor no-op hooks (_span_processors)", best(all_hooks, n), best(checked, n))

    sampler = tracer.sampler
    trace_id = 0x0AF7651916CD43DD8448EB211C80319C
    attrs = {"rpc.system": "grpc"}

    def public_sample() -> None:
        sampler.should_sample(None, trace_id, "s", SpanKind.SERVER, attrs, ())

    def inline_sample() -> bool:
        parent = trace_api.get_current_span(None).get_span_context()
        return True if not parent.is_valid else parent.trace_flags.sampled

    otel_context.attach(otel_context.Context())
    row("sampling decision (ParentBased delegates)", best(public_sample, n),
        best(inline_sample, n))

    # RpcSpan needs the tracer's `_span_limits`, `_instrumentation_scope`, `_is_enabled`.
    from libs.observability.rpc_span import RpcSpanFactory

    factory = RpcSpanFactory(tracer)
    static = {"rpc.system": "grpc", "rpc.service": "pkg.Svc", "rpc.method": "M"}

    def sdk_span() -> None:
        tracer.start_span("pkg.Svc/M", kind=SpanKind.SERVER, attributes=static).end()

    def rpc_span() -> None:
        factory.start("pkg.Svc/M", SpanKind.SERVER, None, dict(static)).end()

    row("span start+end (RpcSpan: tracer privates)", best(sdk_span, n // 10),
        best(rpc_span, n // 10))

    async def aio_status() -> tuple[float, float]:
        import grpc
        from bytebot.testing.v1 import conformance_pb2 as pb
        from bytebot.testing.v1 import conformance_pb2_grpc as pb_grpc
        from grpc import aio

        from libs.observability.testing import conformance as conf

        server, target = await conf.start_aio_server([])
        async with aio.insecure_channel(target) as channel:
            stub = pb_grpc.ConformanceServiceStub(channel)
            call = stub.Unary(pb.ConformanceRequest(payload="x"))
            await call
            assert _compat.aio_call_status_now(call) == (grpc.StatusCode.OK, "")
            m = n // 20

            async def later() -> None:
                await call.code()
                await call.details()

            loop = asyncio.get_running_loop()
            start = loop.time()
            for _ in range(m):
                await asyncio.create_task(later())
            public = (loop.time() - start) / m * 1e6
            start = loop.time()
            for _ in range(m):
                _compat.aio_call_status_now(call)
            fast = (loop.time() - start) / m * 1e6
        await server.stop(0.001)
        return public, fast

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "protos"))
    row("aio call status (_cython_call._status)", *asyncio.run(aio_status()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
