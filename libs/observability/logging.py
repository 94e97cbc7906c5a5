"""Structured JSON logs (DESIGN §6): one object per line on stdout, same shape for everything.

    from libs.observability.logging import get_logger
    log = get_logger(__name__)
    log.info("task created", taskId=task.id)

A structlog pipeline of small processors adds `timestamp` (RFC 3339 UTC), `level`, `service`,
`version`, `environment`, `correlationId`, `userId`, `trace_id`, `span_id`, redacts secrets and
renders JSON. stdlib `logging` records go through the same chain. With a log directory,
`app.log` (everything) and `error.log` (error and above) are written too.

`configure()` may be called again (it replaces the settings) and `reset()` restores the
defaults for tests; loggers obtained earlier keep working across both.
"""

from __future__ import annotations

import json
import logging as stdlib_logging
import sys
import threading
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any, TextIO

import structlog
from opentelemetry import trace as otel_trace
from structlog.contextvars import merge_contextvars

from libs.observability import correlation
from libs.observability.redaction import REDACTED, Sensitive, is_secret_key, scrub_text

__all__ = [
    "Sensitive",
    "configure",
    "emit",
    "enabled",
    "get_logger",
    "reset",
]

DEBUG, INFO, WARN, ERROR, CRITICAL = 10, 20, 30, 40, 50
LEVELS: dict[str, int] = {
    "debug": DEBUG,
    "info": INFO,
    "warn": WARN,
    "warning": WARN,
    "error": ERROR,
    "exception": ERROR,
    "critical": CRITICAL,
    "fatal": CRITICAL,
}
# The spelling written in the `level` field (the source document's winston levels).
LEVEL_NAME: dict[str, str] = {
    "debug": "debug",
    "info": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
    "exception": "error",
    "critical": "critical",
    "fatal": "critical",
}
_NUM_TO_NAME = {DEBUG: "debug", INFO: "info", WARN: "warn", ERROR: "error", CRITICAL: "critical"}


class _State:
    """Module settings; swapped by configure()/reset() without rebuilding loggers."""

    def __init__(self) -> None:
        self.level = INFO
        self.service = "unknown"
        self.version = "0.0.0"
        self.environment = "development"
        self.stream: TextIO | None = None  # None = the current sys.stdout
        self.files: list[TextIO] = []
        self.error_files: list[TextIO] = []
        self.lock = threading.Lock()
        self.fragment: str | None = None  # static_fragment() cache, reset on (re)configure


_state = _State()


# --- processors: each does one job, cheap in __call__ --------------------------------------

EventDict = MutableMapping[str, Any]


def add_service(_logger: Any, _name: str, ed: EventDict) -> EventDict:
    ed.setdefault("service", _state.service)
    ed.setdefault("version", _state.version)
    ed.setdefault("environment", _state.environment)
    return ed


def add_correlation(_logger: Any, _name: str, ed: EventDict) -> EventDict:
    if "correlationId" not in ed:
        ed["correlationId"] = correlation.get_correlation_id() or "unknown"
    if "userId" not in ed:
        ed["userId"] = correlation.get_user_id()
    return ed


def add_trace_ids(_logger: Any, _name: str, ed: EventDict) -> EventDict:
    if "trace_id" not in ed:
        ctx = otel_trace.get_current_span().get_span_context()
        if ctx.is_valid:
            ed["trace_id"] = format(ctx.trace_id, "032x")
            ed["span_id"] = format(ctx.span_id, "016x")
    return ed


class _Clock:
    """RFC 3339 UTC timestamps; the seconds part is formatted once per second."""

    def __init__(self) -> None:
        self._cached: tuple[int, str] = (-1, "")

    def now(self) -> str:
        t = time.time()
        sec = int(t)
        cached_sec, prefix = self._cached
        if sec != cached_sec:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._cached = (sec, prefix)
        return f"{prefix}.{int((t - sec) * 1_000_000):06d}Z"


_clock = _Clock()


def add_timestamp(_logger: Any, _name: str, ed: EventDict) -> EventDict:
    ed["timestamp"] = _clock.now()
    return ed


def add_level(_logger: Any, name: str, ed: EventDict) -> EventDict:
    ed["level"] = LEVEL_NAME.get(name, name)
    return ed


def redact_secrets(_logger: Any, _name: str, ed: EventDict) -> EventDict:
    for key, value in ed.items():
        if value is None or value.__class__ in (int, float, bool):
            continue
        if is_secret_key(key) or isinstance(value, Sensitive):
            ed[key] = REDACTED
        elif isinstance(value, str):
            ed[key] = scrub_text(value)
        elif isinstance(value, (dict, list, tuple)):
            from libs.observability.redaction import redact

            ed[key] = redact(value)
    return ed


_FIRST = (
    "timestamp", "level", "message", "service", "version", "environment",
    "correlationId", "userId", "trace_id", "span_id",
)


def render_json(_logger: Any, _name: str, ed: EventDict) -> str:
    """The fixed fields first (easier to read), then everything else, one line."""
    if "event" in ed:
        ed["message"] = ed.pop("event")
    out: dict[str, Any] = {k: ed.pop(k) for k in _FIRST if k in ed}
    out.update(ed)
    return _dumps(out)


PROCESSORS: list[Callable[[Any, str, EventDict], Any]] = [
    merge_contextvars,
    add_timestamp,
    add_level,
    add_service,
    add_correlation,
    add_trace_ids,
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
    redact_secrets,
    render_json,
]


# --- output -----------------------------------------------------------------------------


class _Sink:
    """The structlog "logger": writes rendered lines to stdout and the optional files."""

    def _write(self, line: str, is_error: bool = False) -> None:
        stream = _state.stream or sys.stdout
        text = line + "\n"
        with _state.lock:
            stream.write(text)
            stream.flush()
            for f in _state.files:
                f.write(text)
                f.flush()
            if is_error:
                for f in _state.error_files:
                    f.write(text)
                    f.flush()

    def msg(self, line: str) -> None:
        self._write(line)

    debug = info = warn = warning = msg

    def error(self, line: str) -> None:
        self._write(line, True)

    exception = critical = fatal = error


_sink = _Sink()


class BytebotLogger(structlog.BoundLoggerBase):
    """structlog bound logger that checks the level before building anything."""

    def _at(self, name: str, event: Any, args: tuple[Any, ...], kw: dict[str, Any]) -> Any:
        if LEVELS[name] < _state.level:
            return None
        if args:
            event = str(event) % args
        return self._proxy_to_logger(name, event, **kw)

    def debug(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._at("debug", event, args, kw)

    def info(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._at("info", event, args, kw)

    def warning(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._at("warning", event, args, kw)

    warn = warning

    def error(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._at("error", event, args, kw)

    def exception(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        kw.setdefault("exc_info", True)
        return self._at("error", event, args, kw)

    def critical(self, event: Any = None, *args: Any, **kw: Any) -> Any:
        return self._at("critical", event, args, kw)

    fatal = critical

    def log(self, level: int | str, event: Any = None, *args: Any, **kw: Any) -> Any:
        name = level if isinstance(level, str) else _NUM_TO_NAME.get(_level_floor(level), "info")
        return self._at(name, event, args, kw)


def _level_floor(num: int) -> int:
    for candidate in (CRITICAL, ERROR, WARN, INFO):
        if num >= candidate:
            return candidate
    return DEBUG


structlog.configure(
    processors=PROCESSORS,
    wrapper_class=BytebotLogger,
    logger_factory=lambda *_args: _sink,
    cache_logger_on_first_use=True,
)


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger writing the DESIGN §6 JSON lines; `name` becomes the `logger` field."""
    proxy = structlog.get_logger()
    if name:
        initial["logger"] = name
    return proxy.bind(**initial) if initial else proxy


def enabled(level: str) -> bool:
    return LEVELS[level] >= _state.level


def emit(level: str, event: EventDict) -> None:
    """Run a prepared event dict (key "event" = message) through the chain: the access log's
    path, which skips the bound-logger layer because its keys contain dots."""
    if LEVELS[level] < _state.level:
        return
    ed: Any = event
    try:
        for processor in PROCESSORS:
            ed = processor(None, level, ed)
    except structlog.DropEvent:
        return
    if LEVELS[level] >= ERROR:
        _sink.error(ed)
    else:
        _sink.msg(ed)


def threshold() -> int:
    """The numeric level below which nothing is written (for hot paths that precompute)."""
    return _state.level


def static_fragment() -> str:
    """`"service":…,"version":…,"environment":…` as JSON, rebuilt only after configure()."""
    cached = _state.fragment
    if cached is None:
        cached = _state.fragment = (
            f'"service":{_encode_str(_state.service)},"version":{_encode_str(_state.version)},'
            f'"environment":{_encode_str(_state.environment)}'
        )
    return cached


def timestamp() -> str:
    return _clock.now()


def write_line(line: str, is_error: bool) -> None:
    """Write one finished JSON line (already rendered, e.g. the access log's)."""
    if is_error:
        _sink.error(line)
    else:
        _sink.msg(line)


def emit_access(level: str, message: str, correlation_id: str, user_id: str | None,
                trace_id: str | None, span_id: str | None, fields: dict[str, Any]) -> None:
    """A per-RPC style line from parts: the same JSON shape as every other line, built
    directly (its fields are known, so the generic processors are skipped). Only
    `grpc.error` can carry caller text; it is scrubbed like any message. (The interceptors'
    own access lines use precomputed fragments, `libs.observability.access_log`.)"""
    if LEVELS[level] < _state.level:
        return
    out: dict[str, Any] = {
        "timestamp": _clock.now(),
        "level": LEVEL_NAME[level],
        "message": message,
        "service": _state.service,
        "version": _state.version,
        "environment": _state.environment,
        "correlationId": correlation_id,
        "userId": user_id,
    }
    if trace_id is not None:
        out["trace_id"] = trace_id
        out["span_id"] = span_id
    out.update(fields)
    error = out.get("grpc.error")
    if error is not None:
        out["grpc.error"] = scrub_text(error)
    write_line(_dumps(out), LEVELS[level] >= ERROR)


_dumps = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":")).encode
# JSON string literal of a str (the C encoder json uses with ensure_ascii=False).
_encode_str = json.encoder.encode_basestring


def encode_str(value: str) -> str:
    return _encode_str(value)


# --- stdlib bridge ----------------------------------------------------------------------


class _StdlibBridge(stdlib_logging.Handler):
    """Routes stdlib `logging` records (grpc, sqlalchemy, …) through the same chain."""

    def emit(self, record: stdlib_logging.LogRecord) -> None:
        try:
            name = _NUM_TO_NAME[_level_floor(record.levelno)]
            event: dict[str, Any] = {"event": record.getMessage(), "logger": record.name}
            if record.exc_info:
                event["exc_info"] = record.exc_info
            emit(name, event)
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


_bridge = _StdlibBridge()
_saved_root: tuple[list[stdlib_logging.Handler], int] | None = None


def _close_files() -> None:
    for f in (*_state.files, *_state.error_files):
        try:
            f.close()
        except OSError:
            pass
    _state.files = []
    _state.error_files = []


def configure(
    service: str,
    version: str = "0.0.0",
    environment: str = "development",
    level: str = "info",
    log_dir: str | Path | None = None,
    stream: TextIO | None = None,
) -> None:
    """Set who is logging and where; idempotent (calling again replaces the settings)."""
    global _saved_root
    level_name = level.lower()
    if level_name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {sorted(set(LEVEL_NAME))}")
    with _state.lock:
        _close_files()
        _state.level = LEVELS[level_name]
        _state.service, _state.version, _state.environment = service, version, environment
        _state.fragment = None
        _state.stream = stream
        if log_dir is not None:
            directory = Path(log_dir)
            directory.mkdir(parents=True, exist_ok=True)
            _state.files = [open(directory / "app.log", "a", encoding="utf-8")]
            _state.error_files = [open(directory / "error.log", "a", encoding="utf-8")]
    root = stdlib_logging.getLogger()
    if _saved_root is None:
        _saved_root = (list(root.handlers), root.level)
    root.handlers = [_bridge]
    root.setLevel(_state.level)


def reset() -> None:
    """Back to defaults (stdout, info, service "unknown"); for tests."""
    global _saved_root
    with _state.lock:
        _close_files()
        _state.level = INFO
        _state.service, _state.version, _state.environment = "unknown", "0.0.0", "development"
        _state.fragment = None
        _state.stream = None
    if _saved_root is not None:
        root = stdlib_logging.getLogger()
        root.handlers, level = _saved_root
        root.setLevel(level)
        _saved_root = None
