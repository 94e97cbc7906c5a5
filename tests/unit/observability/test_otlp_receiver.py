"""The shared in-process OTLP receiver (tests/e2e, bench/interceptor_overhead.py) receives
what a real OTLPSpanExporter sends over gRPC, keeping the spans or only counting them."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from libs.observability.testing.otlp_receiver import OtlpReceiver


@pytest.mark.parametrize("keep", [True, False])
def test_receives_spans_from_a_real_exporter(keep: bool) -> None:
    with OtlpReceiver(keep=keep) as receiver:
        provider = TracerProvider(resource=Resource.create({"service.name": "svc"}))
        provider.add_span_processor(
            SimpleSpanProcessor(OTLPSpanExporter(endpoint=receiver.endpoint, insecure=True))
        )
        tracer = provider.get_tracer("t")
        with tracer.start_as_current_span("parent"), tracer.start_as_current_span(
            "child", attributes={"k": "v"}
        ):
            pass
        provider.shutdown()
        assert receiver.count == 2
        spans = receiver.snapshot()
    if not keep:
        assert spans == []
        return
    by_name = {s.name: s for s in spans}
    assert by_name["child"].service == "svc"
    assert by_name["child"].attributes == {"k": "v"}
    assert by_name["child"].parent_span_id == by_name["parent"].span_id
    assert by_name["child"].trace_id == by_name["parent"].trace_id
