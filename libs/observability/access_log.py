"""The log signal of the per-call reporter: one "finished call" line per RPC.

Fields follow go-grpc-middleware's logging (`protocol`, `grpc.component`, `grpc.service`,
`grpc.method`, `grpc.method_type`, `grpc.code`, `grpc.time_ms`, `peer.address`, `grpc.error`)
plus the DESIGN §6 fields the pipeline adds. The level depends on the code (server: Info for
OK and client faults, Warn for DeadlineExceeded…, Error for Unknown/Internal…; client: Go's
client defaults, OK at debug). A unary or client-stream call slower than `slow_call_seconds`
is logged at warn at least, with `grpc.slow: true` (long-lived streams are never "slow").
"""

from __future__ import annotations

from typing import Any

import grpc

from libs.observability import logging as obs_logging
from libs.observability.callmeta import CallMeta, RpcKind
from libs.observability.codes import GO_NAME, SERVER_LOG_LEVEL
from libs.observability.reporter import CallState, NoopReporter

SC = grpc.StatusCode
# go-grpc-middleware DefaultClientCodeToLevel.
CLIENT_LOG_LEVEL: dict[grpc.StatusCode, str] = {code: "debug" for code in GO_NAME}
CLIENT_LOG_LEVEL.update(
    {
        SC.UNKNOWN: "info",
        SC.DEADLINE_EXCEEDED: "info",
        SC.PERMISSION_DENIED: "info",
        SC.UNAUTHENTICATED: "info",
        SC.UNIMPLEMENTED: "warn",
        SC.INTERNAL: "warn",
        SC.UNAVAILABLE: "warn",
        SC.DATA_LOSS: "warn",
    }
)
_RANK = obs_logging.LEVELS


class AccessLogReporter(NoopReporter):
    __slots__ = ("can_be_slow", "fields", "levels", "slow_seconds")

    def __init__(self, meta: CallMeta, slow_seconds: float) -> None:
        self.levels = CLIENT_LOG_LEVEL if meta.is_client else SERVER_LOG_LEVEL
        self.slow_seconds = slow_seconds
        self.can_be_slow = meta.kind in (RpcKind.UNARY, RpcKind.CLIENT_STREAM)
        self.fields: dict[str, Any] = {
            "protocol": "grpc",
            "grpc.component": "client" if meta.is_client else "server",
            "grpc.service": meta.service,
            "grpc.method": meta.method,
            "grpc.method_type": meta.kind.value,
        }

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        level = self.levels[code]
        slow = self.can_be_slow and duration > self.slow_seconds
        if slow and _RANK[level] < _RANK["warn"]:
            level = "warn"
        if not obs_logging.enabled(level):
            return  # nothing is built when the level is off
        event = dict(self.fields)
        event["grpc.code"] = GO_NAME[code]
        event["grpc.time_ms"] = round(duration * 1000.0, 3)
        event["peer.address"] = call.peer[0]
        if details and code is not SC.OK:
            event["grpc.error"] = details
        if slow:
            event["grpc.slow"] = True
        ids = call.trace_ids()
        obs_logging.emit_access(
            level, "finished call", call.correlation_id or "unknown", call.user_id,
            ids[0] if ids else None, ids[1] if ids else None, event,
        )


class AccessLogReporterFactory:
    def __init__(self, slow_call_seconds: float = 1.0) -> None:
        self.slow_call_seconds = slow_call_seconds

    def for_method(self, meta: CallMeta) -> AccessLogReporter:
        return AccessLogReporter(meta, self.slow_call_seconds)
