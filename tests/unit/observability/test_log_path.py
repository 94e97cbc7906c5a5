"""One log path (issue 13 item 2): every line, the per-RPC access line included, goes through
the one structlog chain; its fast renderer writes exactly what the generic JSON renderer
would; structlog is configured by setup(), not by importing; one timestamp format."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import grpc
import pytest
from bytebot.testing.v1 import conformance_pb2 as pb
from structlog.contextvars import bound_contextvars
from structlog.testing import capture_logs

from libs.observability import logging as obs_logging
from libs.observability.testing import conformance as conf
from libs.runtime import health
from tests.conformance import harness as h

RFC3339_MICROS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.fixture
def env():
    e = h.make_env(slow_call_seconds=0.05)
    yield e
    h.teardown_env()


# (kind, request): OK, failures with and without a message (one carrying a bearer token the
# chain must scrub), a slow call, a unicode message.
CASES = [
    ("unary", h.req()),
    ("unary", h.req(pb.BEHAVIOR_ABORT, code=5, message="task \"ü\" not found")),
    ("unary", h.req(pb.BEHAVIOR_ABORT, code=16, message="rejected Bearer abc.def")),
    ("unary", h.req(pb.BEHAVIOR_RAISE)),
    ("unary", h.req(pb.BEHAVIOR_SLEEP, sleep_ms=80)),
    ("client_stream", h.req()),
    ("server_stream", h.req(count=2)),
    ("server_stream", h.req(pb.BEHAVIOR_ABORT, code=9, message="")),
    ("bidi", h.req()),
]


def _run_cases(env: h.Env) -> None:
    server, target = conf.start_sync_server(env.obs.server_interceptors(), conf.SyncConformance())
    stub, channel = h.sync_stub(env, target)
    try:
        for kind, request in CASES:
            h.sync_call(stub, kind, request, metadata=(("x-correlation-id", f"cid-{kind}"),))
    finally:
        channel.close()
        server.stop(None)


def _access(events: list[dict]) -> list[dict]:
    return [e for e in events if e.get("message", e.get("event")) == "finished call"]


def test_capture_logs_sees_the_access_lines(env: h.Env) -> None:
    with capture_logs() as events:
        _run_cases(env)
    lines = _access(events)
    # a server and a client line per call
    assert len(lines) == 2 * len(CASES)
    servers = [e for e in lines if e["grpc.component"] == "server"]
    assert [e["grpc.method_type"] for e in servers] == [
        "bidi_stream" if k == "bidi" else k for k, _ in CASES
    ]
    assert {e["grpc.code"] for e in servers} >= {"OK", "NotFound", "Unauthenticated", "Internal"}
    assert all(e["log_level"] in {"debug", "info", "warning", "error"} for e in lines)
    assert "stream is closed" not in json.dumps(lines, default=str)


def test_fast_renderer_writes_what_the_generic_renderer_would(env: h.Env) -> None:
    chain_but_render = list(obs_logging.PROCESSORS[:-1])
    with capture_logs(processors=chain_but_render) as events:
        _run_cases(env)
    lines = _access(events)
    assert len(lines) == 2 * len(CASES)
    for event in lines:
        del event["log_level"]  # capture_logs' own key
        fast = event.pop(obs_logging.RENDERER_KEY)(dict(event))
        assert fast is not None
        assert fast == obs_logging.render_json(dict(event))
    # and what reaches the stream (no capture now) is such lines, secrets scrubbed
    _run_cases(env)
    written = env.log.getvalue()
    assert "abc.def" not in written
    streamed = [json.loads(x) for x in written.splitlines() if '"finished call"' in x]
    assert len(streamed) == 2 * len(CASES)
    slow = [x for x in streamed if x.get("grpc.slow")]
    assert slow and all(x["level"] == "warn" and x["grpc.method_type"] == "unary" for x in slow)
    for line in streamed:
        assert RFC3339_MICROS.fullmatch(line["timestamp"])
        assert ("trace_id" in line) == ("span_id" in line)


def test_a_field_the_renderer_does_not_know_falls_back_to_json(env: h.Env) -> None:
    server, target = conf.start_sync_server(env.obs.server_interceptors(), conf.SyncConformance())
    stub, channel = h.sync_stub(env, target)
    try:
        # bound on the client side, where the client's access line is logged
        with bound_contextvars(job="nightly-42"):
            h.sync_call(stub, "unary", h.req(), metadata=())
    finally:
        channel.close()
        server.stop(None)
    client = [json.loads(x) for x in env.log.getvalue().splitlines()
              if '"grpc.component":"client"' in x]
    assert len(client) == 1
    assert client[0]["job"] == "nightly-42" and client[0]["grpc.code"] == "OK"


def test_an_access_line_below_the_level_is_not_built(env: h.Env) -> None:
    with capture_logs() as everything:
        _run_cases(env)
    obs_logging.configure("conformance", level="warn", stream=env.log)
    with capture_logs() as events:
        _run_cases(env)

    def key(e: dict) -> tuple:
        return e["grpc.component"], e["grpc.method_type"], e["grpc.code"], e["log_level"]

    expected = sorted(key(e) for e in _access(everything) if e["log_level"] in ("warning", "error"))
    assert expected and sorted(key(e) for e in _access(events)) == expected
    assert any(e.get("grpc.slow") for e in _access(events))  # the slow OK call is warn


def test_structlog_is_configured_by_setup_not_by_import() -> None:
    code = (
        "import structlog, libs.observability as o, libs.runtime.server\n"
        "import services.tasks.servicer, services.computer.servicer\n"
        "print(structlog.is_configured())\n"
        "o.setup('x', log_stream=__import__('io').StringIO())\n"
        "print(structlog.is_configured())\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout.split()
    assert out == ["False", "True"]


def test_one_timestamp_format_for_logs_and_health_bodies() -> None:
    assert health.utc_timestamp is obs_logging.timestamp
    assert RFC3339_MICROS.fullmatch(obs_logging.timestamp())
    assert obs_logging.timestamp(0.0) == "1970-01-01T00:00:00.000000Z"
    assert obs_logging.timestamp(1_700_000_000.25) == "2023-11-14T22:13:20.250000Z"


def test_stdlib_records_and_application_lines_share_the_chain(env: h.Env) -> None:
    import logging

    with capture_logs() as events:
        logging.getLogger("grpc._cython").error("boom %d", 7)
        obs_logging.get_logger("unit").info("hello", taskId="t-1")
    assert [(e["event"], e["log_level"]) for e in events] == [("boom 7", "error"),
                                                               ("hello", "info")]
    assert events[0]["logger"] == "grpc._cython"


def test_emit_keeps_working_for_prepared_events() -> None:
    with capture_logs() as events:
        obs_logging.emit("warn", {"event": "x", "grpc.code": grpc.StatusCode.OK.name})
    assert events == [{"event": "x", "grpc.code": "OK", "log_level": "warning"}]
