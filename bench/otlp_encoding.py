"""OTLP span encoding: the SDK's encoder vs libs/observability/otlp_encoding.py, side by side.

    .venv/bin/python bench/otlp_encoding.py [--spans 512] [--rounds 7]

Batches of finished spans shaped like our RPC server spans (7 attributes, a remote parent
on half of them, an error status on a tenth) are encoded by both, alternating rounds; the
median µs per span of each and their ratio are printed, and the two requests are checked
equal. The batch processor exports up to 512 spans per request.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

from opentelemetry import trace  # noqa: E402
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags  # noqa: E402

from libs.observability.otlp_encoding import SpanEncoder  # noqa: E402


def rpc_spans(n: int) -> list:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("libs.observability")
    for i in range(n):
        parent = None
        if i % 2:
            remote = SpanContext(i + 1, i + 7, is_remote=True, trace_flags=TraceFlags(1))
            parent = trace.set_span_in_context(trace.NonRecordingSpan(remote))
        method = ("Unary", "Screenshot", "CreateTask")[i % 3]
        with tracer.start_as_current_span(
            f"bytebot.testing.v1.ConformanceService/{method}", kind=SpanKind.SERVER,
            context=parent,
            attributes={"rpc.system": "grpc", "rpc.service": "bytebot.testing.v1.X",
                        "rpc.method": method, "rpc.grpc.status_code": 0 if i % 10 else 13,
                        "server.address": "127.0.0.1", "network.peer.address": "127.0.0.1",
                        "network.peer.port": 40000 + i % 64},
        ) as span:
            if i % 10 == 0:
                span.set_status(Status(StatusCode.ERROR, "internal error"))
    return list(memory.get_finished_spans())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    spans = rpc_spans(args.spans)
    ours = SpanEncoder()
    assert ours.encode(spans) == encode_spans(spans), "encoders disagree"
    timings: dict[str, list[float]] = {"sdk": [], "ours": []}
    for _ in range(args.rounds):
        for name, encode in (("sdk", encode_spans), ("ours", ours.encode)):
            start = time.perf_counter()
            for _ in range(5):
                encode(spans)
            timings[name].append((time.perf_counter() - start) / (5 * len(spans)) * 1e6)
    sdk, mine = (statistics.median(timings[k]) for k in ("sdk", "ours"))
    print(f"OTLP encoding of {len(spans)} RPC spans, median of {args.rounds} rounds")
    print(f"  sdk encode_spans  {sdk:7.1f} µs/span")
    print(f"  SpanEncoder       {mine:7.1f} µs/span   ({sdk / mine:.1f}x faster, "
          f"{sdk - mine:.0f} µs saved per exported span)")


if __name__ == "__main__":
    main()
