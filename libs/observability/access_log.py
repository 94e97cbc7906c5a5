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
from libs.observability.logging import RENDERER_KEY
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
_enc = obs_logging.encode_str
# How many keys an access line has once the chain's processors have run (EventRenamer has
# turned "event" into "message"), without the optional grpc.error and grpc.slow.
_LINE_KEY_COUNT = len((
    "timestamp", "level", "message", "service", "version", "environment", "correlationId",
    "userId", "trace_id", "span_id", "protocol", "grpc.component", "grpc.service",
    "grpc.method", "grpc.method_type", "grpc.code", "grpc.time_ms", "peer.address",
))


class AccessLogReporter(NoopReporter):
    """One "finished call" line per RPC, logged through the log chain like every line (so
    capture_logs() and every processor see it). The event carries its own renderer
    (`RENDERER_KEY`): the chain's last processor writes the per-method and per-code parts
    from JSON fragments precomputed here, and falls back to generic JSON if a processor
    added a field this renderer does not know. Nothing is built when the level is off."""

    __slots__ = ("by_code", "can_be_slow", "method_fields", "method_fragment", "slow_seconds")

    def __init__(self, meta: CallMeta, slow_seconds: float) -> None:
        levels = CLIENT_LOG_LEVEL if meta.is_client else SERVER_LOG_LEVEL
        self.slow_seconds = slow_seconds
        self.can_be_slow = meta.kind in (RpcKind.UNARY, RpcKind.CLIENT_STREAM)
        self.method_fields = {
            "protocol": "grpc",
            "grpc.component": "client" if meta.is_client else "server",
            "grpc.service": meta.service,
            "grpc.method": meta.method,
            "grpc.method_type": meta.kind.value,
        }
        self.method_fragment = ",".join(
            f"{_enc(k)}:{_enc(v)}" for k, v in self.method_fields.items()
        )
        # code -> (structlog method name, numeric rank, Go code name)
        self.by_code: dict[grpc.StatusCode, tuple[str, int, str]] = {
            code: (levels[code], _RANK[levels[code]], GO_NAME[code]) for code in GO_NAME
        }

    def finished(self, call: CallState, code: grpc.StatusCode, duration: float,
                 details: str | None) -> None:
        level, rank, code_name = self.by_code[code]
        slow = self.can_be_slow and duration > self.slow_seconds
        if slow and rank < _WARN:
            level, rank = "warn", _WARN
        if rank < obs_logging.threshold():
            return  # nothing is built when the level is off
        ids = call.trace_ids()
        event = {
            "event": "finished call",
            RENDERER_KEY: self.render,
            "correlationId": call.correlation_id or "unknown",
            "userId": call.user_id,
            # None = this call had no span (whatever span is current where it is logged)
            "trace_id": ids[0] if ids else None,
            "span_id": ids[1] if ids else None,
            **self.method_fields,
            "grpc.code": code_name,
            "grpc.time_ms": round(duration * 1000.0, 3),
            "peer.address": call.peer[0],
        }
        if details and code is not SC.OK:
            event["grpc.error"] = details  # the chain's redaction scrubs it
        if slow:
            event["grpc.slow"] = True
        obs_logging.emit(level, event)

    def render(self, ed: obs_logging.EventDict) -> str | None:
        """The line from the processed event, or None when it holds an unknown field."""
        error = ed.get("grpc.error")
        slow = ed.get("grpc.slow")
        if len(ed) != _LINE_KEY_COUNT + (error is not None) + (slow is not None):
            return None
        trace_id = ed["trace_id"]
        user = ed["userId"]
        return (
            f'{{"timestamp":"{ed["timestamp"]}","level":"{ed["level"]}",'
            f'"message":{_enc(ed["message"])},"service":{_enc(ed["service"])},'
            f'"version":{_enc(ed["version"])},"environment":{_enc(ed["environment"])},'
            f'"correlationId":{_enc(ed["correlationId"])},'
            f'"userId":{"null" if user is None else _enc(user)},'
            + ("" if trace_id is None
               else f'"trace_id":"{trace_id}","span_id":"{ed["span_id"]}",')
            + f'{self.method_fragment},"grpc.code":"{ed["grpc.code"]}",'
            f'"grpc.time_ms":{ed["grpc.time_ms"]!r},'
            f'"peer.address":{_enc(ed["peer.address"])}'
            + ("" if error is None else f',"grpc.error":{_enc(error)}')
            + ("" if slow is None else ',"grpc.slow":true')
            + "}"
        )


class AccessLogReporterFactory:
    def __init__(self, slow_call_seconds: float = 1.0) -> None:
        self.slow_call_seconds = slow_call_seconds

    def for_method(self, meta: CallMeta) -> AccessLogReporter:
        return AccessLogReporter(meta, self.slow_call_seconds)
