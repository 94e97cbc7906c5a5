"""RecordEvents over gRPC: per-event validation, request bounds, the token bucket, bounded
metrics, and correlated logs with redacted attributes."""

from __future__ import annotations

import json
import math

import grpc
import pytest
from bytebot.telemetry.v1 import telemetry_pb2 as pb

from libs.runtime.server import start_service
from libs.status.errors import field_violations
from services.telemetry.main import ENTRY as TELEMETRY
from tests.integration.telemetry.conftest import run, telemetry_stub, unused_target

SECRET = "hunter2-very-secret-value"


def telemetry(**overrides):
    settings = {"services": {"nobody": unused_target()}, "metrics_urls": {},
                "probe_interval_seconds": 5.0}
    settings.update(overrides)
    return start_service(TELEMETRY, settings)


def event(**fields) -> pb.ClientEvent:
    fields.setdefault("name", "ui.task_created")
    fields.setdefault("source", "ui")
    return pb.ClientEvent(**fields)


def metric(svc, line_prefix: str) -> float:
    text = svc.observability.render_metrics(None)[0].decode()
    for line in text.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_invalid_events_are_rejected_one_by_one():
    async def body():
        async with telemetry() as svc:
            future = pb.ClientEvent(name="ui.x", source="ui")
            future.time.FromSeconds(4_000_000_000)
            events = [
                event(),
                event(name="Bad Name"),
                event(source="toaster"),
                event(value=math.nan),
                event(attributes={f"k{i}": "v" for i in range(33)}),
                event(attributes={"k" * 65: "v"}),
                event(attributes={"k": "v" * 1025}),
                event(correlation_id="c" * 129),
                future,
                event(name="agent.step_done", source="agent", severity=pb.EVENT_SEVERITY_ERROR,
                      value=1.5),
            ]
            response = await telemetry_stub(svc).RecordEvents(pb.RecordEventsRequest(events=events))
            assert response.accepted == 2
            assert response.rejected == 8
            assert [(r.index, r.field) for r in response.rejections] == [
                (1, "name"), (2, "source"), (3, "value"), (4, "attributes"),
                (5, "attributes"), (6, "attributes"), (7, "correlation_id"), (8, "time"),
            ]
            assert "toaster" in response.rejections[1].reason
            assert metric(svc, 'bytebot_client_events_total{name="agent.step_done",'
                               'severity="error",source="agent"}') == 1
            assert metric(svc, 'bytebot_client_events_rejected_total{reason="attributes"}') == 3

    run(body())


@pytest.mark.parametrize("count", [0, 501])
def test_batch_size_bounds(count):
    async def body():
        async with telemetry() as svc:
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await telemetry_stub(svc).RecordEvents(
                    pb.RecordEventsRequest(events=[event()] * count)
                )
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert field_violations(info.value)[0].field == "events"

    run(body())


def test_request_over_one_mib_is_refused():
    async def body():
        async with telemetry() as svc:
            big = event(attributes={f"k{i}": "x" * 1024 for i in range(32)})  # ~33 KB
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await telemetry_stub(svc).RecordEvents(pb.RecordEventsRequest(events=[big] * 40))
            assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "1 MiB" in field_violations(info.value)[0].description

    run(body())


def test_token_bucket_per_source_and_peer_refuses_whole_batches():
    async def body():
        async with telemetry(events_rate_per_second=0.5, events_burst=5) as svc:
            stub = telemetry_stub(svc)
            ok = await stub.RecordEvents(pb.RecordEventsRequest(events=[event()] * 4))
            assert ok.accepted == 4
            with pytest.raises(grpc.aio.AioRpcError) as info:
                await stub.RecordEvents(pb.RecordEventsRequest(events=[event()] * 3))
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert "'ui'" in info.value.details() and "retry in" in info.value.details()
            # nothing of the refused batch was recorded; another source has its own bucket
            assert metric(svc, 'bytebot_client_events_total{name="ui.task_created",'
                               'severity="info",source="ui"}') == 4
            other = await stub.RecordEvents(
                pb.RecordEventsRequest(events=[event(source="desktop")] * 5)
            )
            assert other.accepted == 5
            # the last token of "ui" is still there: the refused batch took none
            last = await stub.RecordEvents(pb.RecordEventsRequest(events=[event()]))
            assert last.accepted == 1
            assert metric(svc, 'bytebot_client_events_rejected_total{reason="rate_limit"}') == 3

    run(body())


def test_event_names_beyond_the_cap_count_as_other():
    async def body():
        async with telemetry(event_name_label_cap=2) as svc:
            names = ["ui.a", "ui.b", "ui.c", "ui.d"]
            response = await telemetry_stub(svc).RecordEvents(
                pb.RecordEventsRequest(events=[event(name=n) for n in names])
            )
            assert response.accepted == 4
            assert metric(svc, 'bytebot_client_events_total{name="other",'
                               'severity="info",source="ui"}') == 2
            assert metric(svc, 'bytebot_metric_label_overflow_total{'
                               'label="name",metric="bytebot_client_events_total"}') == 2

    run(body())


def test_events_are_logged_with_their_correlation_id_and_redacted(capsys):
    async def body():
        async with telemetry() as svc:
            events = [
                event(name="desktop.login", source="desktop", severity=pb.EVENT_SEVERITY_WARNING,
                      correlation_id="corr-42",
                      attributes={"password": SECRET, "api_token": SECRET, "screen": "main",
                                  "note": f"Bearer {SECRET}"}),
                event(name="cli.run", source="cli"),
            ]
            response = await telemetry_stub(svc).RecordEvents(
                pb.RecordEventsRequest(events=events), metadata=[("x-correlation-id", "call-7")]
            )
            assert response.accepted == 2

    run(body())
    out = capsys.readouterr().out
    assert SECRET not in out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    logged = {e["event_name"]: e for e in lines if e.get("message") == "client event"}
    login = logged["desktop.login"]
    assert login["correlationId"] == "corr-42"
    assert login["level"] in ("warn", "warning")  # the log library spells it "warn"
    assert login["attributes"]["note"] == "Bearer [REDACTED]"
    assert login["attributes"]["password"] == "[REDACTED]"
    assert login["attributes"]["api_token"] == "[REDACTED]"
    assert login["attributes"]["screen"] == "main"
    # without its own id an event keeps the RecordEvents call's correlation id
    assert logged["cli.run"]["correlationId"] == "call-7"
