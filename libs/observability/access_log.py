"""The log signal of the per-call reporter: one "finished call" line per RPC.

Fields follow go-grpc-middleware's logging (`protocol`, `grpc.component`, `grpc.service`,
`grpc.method`, `grpc.method_type`, `grpc.code`, `grpc.time_ms`, `peer.address`, `grpc.error`)
plus the DESIGN §6 fields the pipeline adds. The level depends on the code (server: Info for
OK and client faults, Warn for DeadlineExceeded…, Error for Unknown/Internal…; client: Go's
client defaults, OK at debug). A unary or client-stream call slower than `slow_call_seconds`
is logged at warn at least, with `grpc.slow: true` (long-lived streams are never "slow").
"""

from __future__ import annotations

import grpc

from libs.edge.callmeta import CallMeta, RpcKind
from libs.observability import logging as obs_logging
from libs.observability.codes import GO_NAME, SERVER_LOG_LEVEL
from libs.observability.redaction import scrub_text
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


_WARN = obs_logging.WARN
_ERROR = obs_logging.ERROR
_enc = obs_logging.encode_str


class AccessLogReporter(NoopReporter):
    """Renders the line from JSON fragments precomputed per method and per code: per call
    only the timestamp, ids, duration and peer are formatted (no dict, no generic encoder),
    and nothing at all when the line's level is off."""

    __slots__ = ("by_code", "can_be_slow", "method_fragment", "slow_seconds")

    def __init__(self, meta: CallMeta, slow_seconds: float) -> None:
        levels = CLIENT_LOG_LEVEL if meta.is_client else SERVER_LOG_LEVEL
        self.slow_seconds = slow_seconds
        self.can_be_slow = meta.kind in (RpcKind.UNARY, RpcKind.CLIENT_STREAM)
        component = "client" if meta.is_client else "server"
        self.method_fragment = (
            f'"protocol":"grpc","grpc.component":"{component}",'
            f'"grpc.service":{_enc(meta.service)},"grpc.method":{_enc(meta.method)},'
            f'"grpc.method_type":"{meta.kind.value}"'
        )
        # code -> (level name as written, numeric rank, `"grpc.code":"…"`)
        self.by_code: dict[grpc.StatusCode, tuple[str, int, str]] = {
            code: (
                obs_logging.LEVEL_NAME[levels[code]],
                _RANK[levels[code]],
                f'"grpc.code":"{GO_NAME[code]}"',
            )
            for code in GO_NAME
        }

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        level, rank, code_fragment = self.by_code[code]
        slow = self.can_be_slow and duration > self.slow_seconds
        if slow and rank < _WARN:
            level, rank = "warn", _WARN
        if rank < obs_logging.threshold():
            return  # nothing is built when the level is off
        ids = call.trace_ids()
        user = call.user_id
        extra = ""
        if details and code is not SC.OK:
            extra = f',"grpc.error":{_enc(scrub_text(details))}'
        if slow:
            extra += ',"grpc.slow":true'
        line = (
            f'{{"timestamp":"{obs_logging.timestamp()}","level":"{level}",'
            f'"message":"finished call",{obs_logging.static_fragment()},'
            f'"correlationId":{_enc(call.correlation_id or "unknown")},'
            f'"userId":{"null" if user is None else _enc(user)},'
            + (f'"trace_id":"{ids[0]}","span_id":"{ids[1]}",' if ids else "")
            + f'{self.method_fragment},{code_fragment},'
            f'"grpc.time_ms":{duration * 1000.0:.3f},'
            f'"peer.address":{_enc(call.peer[0])}{extra}}}'
        )
        obs_logging.write_line(line, rank >= _ERROR)


class AccessLogReporterFactory:
    def __init__(self, slow_call_seconds: float = 1.0) -> None:
        self.slow_call_seconds = slow_call_seconds

    def for_method(self, meta: CallMeta) -> AccessLogReporter:
        return AccessLogReporter(meta, self.slow_call_seconds)
