"""The per-RPC access line: its cost through the one log chain, beside the floor and a peer.

    .venv/bin/python bench/access_line.py [--lines 20000] [--rounds 7]

Rows, measured alternately in one run (µs per line, median of the rounds; ratios to the
chain's row):
- `write only`: writing an already rendered line of the same size to the sink (the floor);
- `chain (fast renderer)`: what production runs, `AccessLogReporter.finished` → the chain →
  the access line's own renderer;
- `chain (generic JSON)`: the same event through the chain, rendered by `render_json`;
- `structlog stock`: the best peer, structlog's documented production chain
  (`merge_contextvars`, `add_log_level`, `TimeStamper(fmt="iso", utc=True)`,
  `format_exc_info`, `JSONRenderer()`) with a filtering bound logger, same fields.
The lines written by the fast and generic rows are checked equal first (but the timestamp).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]

import grpc  # noqa: E402
import structlog  # noqa: E402

from libs.edge.call import CallState  # noqa: E402
from libs.edge.callmeta import RpcKind, call_meta  # noqa: E402
from libs.observability import logging as obs_logging  # noqa: E402
from libs.observability.access_log import AccessLogReporter  # noqa: E402


def _reporter_and_call() -> tuple[AccessLogReporter, CallState]:
    meta = call_meta("/bytebot.tasks.v1.TaskService/GetTask", RpcKind.UNARY, False)
    call = CallState(("10.0.0.7", 51234), "c0ffee00-1234-4bcd-8ef0-0123456789ab", "user-42")
    call.ids = ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True)
    return AccessLogReporter(meta, 1.0), call


class _Discard(io.TextIOBase):
    def write(self, s: str) -> int:
        return len(s)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    reporter, call = _reporter_and_call()
    code = grpc.StatusCode.OK

    # The equality check: one line each way, to a buffer.
    buf = io.StringIO()
    obs_logging.configure("tasks", "1.4.0", "production", stream=buf)
    reporter.finished(call, code, 0.0123, None)
    fast_line = buf.getvalue()
    generic_reporter, _ = _reporter_and_call()
    generic_reporter.render = lambda _ed: None  # type: ignore[method-assign]
    buf.seek(0)
    buf.truncate()
    generic_reporter.finished(call, code, 0.0123, None)
    event = json.loads(fast_line)
    generic = json.loads(buf.getvalue())
    assert list(event) == list(generic) and {**event, "timestamp": 0} == {
        **generic, "timestamp": 0}, (fast_line, buf.getvalue())

    obs_logging.configure("tasks", "1.4.0", "production", stream=_Discard())
    sink = obs_logging._Sink()  # the sink the chain writes to
    stock = structlog.make_filtering_bound_logger(20)(
        sink,
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        context={},
    )
    fields = {k: v for k, v in event.items() if k not in ("timestamp", "level", "message")}
    line = fast_line.rstrip("\n")

    rows = {
        "write only": lambda: sink.info(line),
        "chain (fast renderer)": lambda: reporter.finished(call, code, 0.0123, None),
        "chain (generic JSON)": lambda: generic_reporter.finished(call, code, 0.0123, None),
        "structlog stock": lambda: stock.info("finished call", **fields),
    }
    times: dict[str, list[float]] = {name: [] for name in rows}
    for _ in range(args.rounds):
        for name, fn in rows.items():
            start = time.perf_counter()
            for _ in range(args.lines):
                fn()
            times[name].append((time.perf_counter() - start) / args.lines * 1e6)
    ours = statistics.median(times["chain (fast renderer)"])
    print(f"{'row':24s} {'µs/line':>8s} {'÷ chain':>8s}")
    for name, samples in times.items():
        us = statistics.median(samples)
        print(f"{name:24s} {us:8.2f} {us / ours:8.2f}")
    obs_logging.reset()


if __name__ == "__main__":
    main()
