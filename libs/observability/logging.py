"""Structured JSON logs (DESIGN §6): one object per line on stdout, same shape for everything.

    from libs.observability.logging import get_logger
    log = get_logger(__name__)
    log.info("task created", taskId=task.id)

One log path: every line — application logs, stdlib `logging` records, the per-RPC access
line, `emit()` — goes through ONE structlog processor chain (`PROCESSORS`), which adds
`timestamp` (RFC 3339 UTC), `level`, `service`, `version`, `environment`, `correlationId`,
`userId`, `trace_id`, `span_id`, redacts secrets and renders JSON as its last processor. So
`structlog.testing.capture_logs()` sees every line, access lines included. With a log
directory, `app.log` (everything) and `error.log` (error and above) are written too.

structlog is configured in `configure()` (which `libs.observability.setup()` calls), never at
import. `get_logger()` returns structlog's lazy proxies bound to this module's chain and sink,
so loggers obtained at import time write §6 lines before configure() (defaults) and pick up
every later configure() — which replaces the settings — and `reset()` (the defaults, for tests).
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
from libs.observability.redaction import Sensitive, redact_event

__all__ = [
    "RENDERER_KEY",
    "Sensitive",
    "configure",
    "emit",
    "enabled",
    "get_logger",
    "reset",
    "timestamp",
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
# The spelling written in the `level` field (the source document's winston levels), by
# structlog method name; structlog's own add_log_level would write "warning".
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
_NUM_TO_NAME = {DEBUG: "debug", INFO: "info", WARN: "warning", ERROR: "error", CRITICAL: "critical"}


class _State:
    """Module settings; swapped by configure()/reset(), read by the processors and the sink."""

    def __init__(self) -> None:
        self.level = INFO
        self.service = "unknown"
        self.version = "0.0.0"
        self.environment = "development"
        self.stream: TextIO | None = None  # None = the current sys.stdout
        self.files: list[TextIO] = []
        self.error_files: list[TextIO] = []
        self.lock = threading.Lock()


_state = _State()

EventDict = MutableMapping[str, Any]


# --- timestamps: the one format (logs, /health/* bodies) --------------------------------------


class _Clock:
    """RFC 3339 UTC with microseconds and a `Z`; the seconds part is formatted once per second.

    Kept instead of `structlog.processors.TimeStamper` because it measured faster per line
    (`python -m timeit` on this machine, 2026-12-03: TimeStamper(fmt="%Y-%m-%dT%H:%M:%S.%fZ",
    utc=True) 3.4 µs, TimeStamper(fmt="iso", utc=True) 2.2 µs, this clock 0.9 µs), and "iso"
    drops the fraction when it is .000000, so the format would not be fixed."""

    def __init__(self) -> None:
        self._cached: tuple[int, str] = (-1, "")

    def format(self, t: float) -> str:
        sec = int(t)
        cached_sec, prefix = self._cached
        if sec != cached_sec:
            prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
            self._cached = (sec, prefix)
        return f"{prefix}.{int((t - sec) * 1_000_000):06d}Z"


_clock = _Clock()


def timestamp(epoch: float | None = None) -> str:
    """The `timestamp` of every log line (and of the health bodies): now, or `epoch`."""
    return _clock.format(time.time() if epoch is None else epoch)


# --- processors: each does one job, cheap in __call__ --------------------------------------


def add_logger_name(logger: Any, _name: str, ed: EventDict) -> EventDict:
    name = getattr(logger, "name", None)
    if name is not None:
        ed.setdefault("logger", name)
    return ed


def add_timestamp(_logger: Any, _name: str, ed: EventDict) -> EventDict:
    ed["timestamp"] = _clock.format(time.time())
    return ed


def add_level(_logger: Any, name: str, ed: EventDict) -> EventDict:
    ed["level"] = LEVEL_NAME.get(name, name)
    return ed


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
    """The current span's ids, unless the event brings its own (`trace_id: None` = no span:
    an access line's call had none, whatever span is current where it is logged)."""
    if "trace_id" not in ed:
        ctx = otel_trace.get_current_span().get_span_context()
        if ctx.is_valid:
            ed["trace_id"] = format(ctx.trace_id, "032x")
            ed["span_id"] = format(ctx.span_id, "016x")
    return ed


_FIRST = (
    "timestamp", "level", "message", "service", "version", "environment",
    "correlationId", "userId", "trace_id", "span_id",
)
# An event dict may carry, under this key, a renderer for its own known shape (the access
# line's precomputed fragments): `(event_dict) -> str | None`, None when the dict holds
# something it does not know, and then the generic JSON renderer writes the line.
RENDERER_KEY = "_bytebot_renderer"

_dumps = json.JSONEncoder(default=str, ensure_ascii=False, separators=(",", ":")).encode
# JSON string literal of a str (the C encoder json uses with ensure_ascii=False).
encode_str: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


def render_json(ed: EventDict) -> str:
    """The fixed fields first (easier to read), then everything else, one line."""
    if ed.get("trace_id", "") is None:  # no span: no ids
        del ed["trace_id"]
        ed.pop("span_id", None)
    out: dict[str, Any] = {k: ed.pop(k) for k in _FIRST if k in ed}
    out.update(ed)
    return _dumps(out)


def render(_logger: Any, _name: str, ed: EventDict) -> str:
    """The chain's last processor: the event's own fast renderer if it has one, else JSON."""
    fast = ed.pop(RENDERER_KEY, None)
    if fast is not None:
        line = fast(ed)
        if line is not None:
            return line  # type: ignore[no-any-return]
    return render_json(ed)


# THE chain. One list object for the process: configure() installs it as structlog's
# processors and mutates it only in place, because structlog.testing.capture_logs() swaps
# the configured list's contents (keeping the instance) and the proxies below hold it.
PROCESSORS: list[Callable[[Any, str, EventDict], Any]] = [
    merge_contextvars,
    add_logger_name,
    add_timestamp,
    add_level,
    add_service,
    add_correlation,
    add_trace_ids,
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
    structlog.processors.EventRenamer("message"),
    redact_event,  # after format_exc_info: tracebacks are scrubbed too
    render,
]
_CHAIN = tuple(PROCESSORS)  # what configure()/reset() restore


# --- output -----------------------------------------------------------------------------


class _Sink:
    """The structlog "logger": writes rendered lines to stdout and the optional files
    (structlog's PrintLogger/WriteLogger write one file and know no error file)."""

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


class _NamedSink(_Sink):
    """The sink of one `get_logger(name)`: the name rides on the logger object because
    structlog.wrap_logger() cannot take a `logger=` initial value (its first parameter)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_sink = _Sink()


def _bound(level: int) -> Any:
    """A concrete logger at `level` on the chain (structlog's filtering logger: the methods
    below the level are `return None`)."""
    return structlog.make_filtering_bound_logger(level)(_sink, processors=PROCESSORS, context={})


# emit()'s logger (hot: the access line of every call), rebuilt by configure()/reset().
_direct: Any = _bound(INFO)


def get_logger(name: str | None = None, **initial: Any) -> Any:
    """A structlog logger writing the DESIGN §6 JSON lines; `name` becomes the `logger` field.

    A lazy proxy on this module's chain and sink: the level (the wrapper class) is looked up
    at each call, so configure() applies to loggers obtained earlier."""
    sink = _NamedSink(name) if name else _sink
    return structlog.wrap_logger(sink, processors=PROCESSORS, **initial)


def enabled(level: str) -> bool:
    return LEVELS[level] >= _state.level


def threshold() -> int:
    """The numeric level below which nothing is written (hot paths check it before building
    an event dict at all)."""
    return _state.level


def emit(level: str, event: EventDict) -> None:
    """Log a prepared event dict (key "event" = the message) at `level` through the chain;
    for fields whose keys are not identifiers (`grpc.method`) and hot paths."""
    getattr(_direct, level)(**event)


# --- stdlib bridge ----------------------------------------------------------------------


class _StdlibBridge(stdlib_logging.Handler):
    """Routes stdlib `logging` records (grpc, sqlalchemy, …) into the same chain.

    Not `structlog.stdlib.ProcessorFormatter`: that renders inside a stdlib handler with a
    processor list of its own, so capture_logs() (which swaps the configured chain) would not
    see stdlib records and the sink's error file routing would be written twice."""

    def emit(self, record: stdlib_logging.LogRecord) -> None:
        try:
            event: dict[str, Any] = {"event": record.getMessage(), "logger": record.name}
            if record.exc_info:
                event["exc_info"] = record.exc_info
            emit(_NUM_TO_NAME[_level_floor(record.levelno)], event)
        except Exception:  # logging must never raise into the caller
            self.handleError(record)


def _level_floor(num: int) -> int:
    for candidate in (CRITICAL, ERROR, WARN, INFO):
        if num >= candidate:
            return candidate
    return DEBUG


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


def _install(level: int) -> None:
    """Configure structlog with the one chain at `level` (the only structlog.configure)."""
    global _direct
    PROCESSORS[:] = _CHAIN
    # No caching of assembled loggers: the level is baked into the filtering class, and
    # configure() may change it for loggers already used (the proxies re-assemble per call).
    structlog.configure(
        processors=PROCESSORS,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_args: _sink,
        cache_logger_on_first_use=False,
    )
    _direct = _bound(level)


def configure(
    service: str,
    version: str = "0.0.0",
    environment: str = "development",
    level: str = "info",
    log_dir: str | Path | None = None,
    stream: TextIO | None = None,
) -> None:
    """Set who is logging and where; calling again replaces the settings."""
    global _saved_root
    level_name = level.lower()
    if level_name not in LEVELS:
        raise ValueError(f"unknown log level {level!r}; use one of {sorted(set(LEVEL_NAME))}")
    with _state.lock:
        _close_files()
        _state.level = LEVELS[level_name]
        _state.service, _state.version, _state.environment = service, version, environment
        _state.stream = stream
        if log_dir is not None:
            directory = Path(log_dir)
            directory.mkdir(parents=True, exist_ok=True)
            _state.files = [open(directory / "app.log", "a", encoding="utf-8")]
            _state.error_files = [open(directory / "error.log", "a", encoding="utf-8")]
    _install(_state.level)
    root = stdlib_logging.getLogger()
    if _saved_root is None:
        _saved_root = (list(root.handlers), root.level)
    root.handlers = [_bridge]
    root.setLevel(_state.level)


def reset() -> None:
    """Back to defaults (stdout, info, service "unknown", stdlib logging as before); for tests."""
    global _saved_root
    with _state.lock:
        _close_files()
        _state.level = INFO
        _state.service, _state.version, _state.environment = "unknown", "0.0.0", "development"
        _state.stream = None
    _install(INFO)
    if _saved_root is not None:
        root = stdlib_logging.getLogger()
        root.handlers, level = _saved_root
        root.setLevel(level)
        _saved_root = None
