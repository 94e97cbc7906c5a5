"""The fast OTLP span encoder gives exactly the SDK encoder's message, on spans that use
everything a span can carry (parents local and remote, events, links, statuses, trace
state, every attribute type, dropped counts, several resources and scopes, schema URLs,
non-ASCII names) and on our lean RPC spans; repeated batches (warm caches) too."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState

from libs.observability.otlp_encoding import SpanEncoder
from libs.observability.rpc_span import RpcSpanFactory


def _provider(resource: Resource, limits: SpanLimits | None = None) -> tuple[TracerProvider,
                                                                           InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=resource, span_limits=limits or SpanLimits())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def _varied_spans() -> list:
    a, a_spans = _provider(Resource.create({"service.name": "tasks-api", "k8s.pod": "p-1"}),
                           SpanLimits(max_span_attributes=6, max_events=1, max_links=1))
    b, b_spans = _provider(Resource({"service.name": "computer", "n": 3}, "https://s/1"))
    t1 = a.get_tracer("bytebot.server", "1.0", schema_url="https://schema/1",
                      attributes={"scope.attr": True})
    t2 = a.get_tracer("bytebot.client")
    t3 = b.get_tracer("other")
    remote = SpanContext(0x1234, 0x99, is_remote=True, trace_flags=TraceFlags(1),
                         trace_state=TraceState([("vendor", "v1"), ("x", "y")]))
    local = SpanContext(0x5678, 0x77, is_remote=False, trace_flags=TraceFlags(1))
    with t1.start_as_current_span(
        "bytebot.tasks.v1.TaskService/CreateTask", kind=SpanKind.SERVER,
        context=trace.set_span_in_context(trace.NonRecordingSpan(remote)),
        attributes={"rpc.system": "grpc", "rpc.grpc.status_code": 0, "ratio": 0.5,
                    "ok": True, "blob": b"\x00\x01", "tags": ["a", "b"], "ints": [1, 2],
                    "over.limit": "dropped"},
        links=[Link(local, {"l": 1}), Link(remote)],
    ) as span:
        span.add_event("first", {"e": "v", "n": 1})
        span.add_event("dropped event")
        span.set_status(Status(StatusCode.ERROR, "boom: ünïcødé"))
    with t2.start_as_current_span("client/Call ✓", kind=SpanKind.CLIENT,
                                  context=trace.set_span_in_context(
                                      trace.NonRecordingSpan(local))) as span:
        span.set_status(Status(StatusCode.OK))
    with t3.start_as_current_span("internal") as span:
        span.set_attribute("empty", "")
    for kind in (SpanKind.PRODUCER, SpanKind.CONSUMER, SpanKind.INTERNAL):
        with t2.start_as_current_span(f"k-{kind.name}", kind=kind):
            pass
    # our lean RPC span, exported through the same processors
    factory = RpcSpanFactory(t1)
    rpc = factory.start("bytebot.computer.v1.ComputerService/Screenshot", SpanKind.SERVER,
                        None, {"rpc.system": "grpc", "network.peer.port": 5555})
    rpc.set_status(Status(StatusCode.ERROR, "DEADLINE_EXCEEDED"))
    rpc.end()
    spans = [*a_spans.get_finished_spans(), *b_spans.get_finished_spans()]
    # interleave resources and scopes: grouping must keep first-seen order
    return [spans[0], spans[-1], *spans[1:-1], spans[0]]


def test_same_message_as_the_sdk_encoder() -> None:
    spans = _varied_spans()
    assert len(spans) >= 8
    expected = encode_spans(spans)
    encoder = SpanEncoder()
    assert encoder.encode(spans) == expected
    assert encoder.encode(spans) == expected  # warm caches give the same
    assert encoder.encode(spans[::-1]) == encode_spans(spans[::-1])
    assert encoder.encode([]) == encode_spans([])


def test_repeated_values_are_cached_but_bounded() -> None:
    spans = _varied_spans()
    encoder = SpanEncoder()
    encoder.encode(spans)
    cached = len(encoder._framed)
    assert cached > 0
    encoder.encode(spans)
    assert len(encoder._framed) == cached  # no growth on the same values
    provider, exporter = _provider(Resource.create({}))
    tracer = provider.get_tracer("t")
    for i in range(5000):  # a per-call value (e.g. a port) must not grow the cache forever
        with tracer.start_as_current_span("s", attributes={"port": i}):
            pass
    many = exporter.get_finished_spans()
    assert encoder.encode(many) == encode_spans(many)
    assert len(encoder._framed) <= 4096
