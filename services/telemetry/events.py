"""RecordEvents: validation (the proto's bounds), a token bucket per (source, peer), bounded
metrics and correlated, redacted logs.

A batch is all-or-nothing against the rate limit: when any (source, peer) bucket lacks the
tokens for its events, nothing is recorded and the call fails RESOURCE_EXHAUSTED, so a client
can retry the same batch later without losing or duplicating events. Invalid events are
rejected one by one (EventRejection) and do not use tokens.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass

from bytebot.telemetry.v1 import telemetry_pb2 as pb
from prometheus_client import CollectorRegistry, Counter

from libs.net import peer_host
from libs.observability.correlation import correlation_scope, get_user_id
from libs.observability.logging import get_logger
from libs.observability.metrics import LabelGuard
from libs.observability.redaction import REDACTED, is_secret_key, scrub_text
from libs.token_buckets import TokenBuckets as SharedTokenBuckets

log = get_logger(__name__)

NAME_RE = re.compile(r"[a-z][a-z0-9_.]{0,63}")
SOURCES = ("desktop", "agent", "ui", "cli")
MAX_EVENTS = 500
MAX_REQUEST_BYTES = 1024 * 1024
MAX_ATTRIBUTES = 32
MAX_KEY_CHARS = 64
MAX_VALUE_CHARS = 1024
MAX_CORRELATION_CHARS = 128
# A client clock may run a little fast; an event hours in the future is a bug.
MAX_FUTURE_SECONDS = 3600.0

SEVERITY_NAMES = {
    pb.EVENT_SEVERITY_UNSPECIFIED: "info",
    pb.EVENT_SEVERITY_DEBUG: "debug",
    pb.EVENT_SEVERITY_INFO: "info",
    pb.EVENT_SEVERITY_WARNING: "warning",
    pb.EVENT_SEVERITY_ERROR: "error",
}
REJECT_FIELDS = (
    "name", "severity", "source", "time", "value", "attributes", "correlation_id",
)


def validate_event(event: pb.ClientEvent, now: float) -> tuple[str, str] | None:
    """(field, reason) of the first problem of `event`, or None when it is valid."""
    if not NAME_RE.fullmatch(event.name):
        shown = event.name if len(event.name) <= 80 else event.name[:80] + "…"
        return "name", f"must match [a-z][a-z0-9_.]{{0,63}}, got {shown!r}"
    if event.severity not in SEVERITY_NAMES:
        return "severity", f"unknown severity {event.severity}"
    if event.source not in SOURCES:
        return "source", f"must be one of {', '.join(SOURCES)}, got {event.source[:80]!r}"
    if event.HasField("time"):
        t = event.time
        if not 0 <= t.nanos < 1_000_000_000 or not 0 < t.seconds < 253402300800:
            return "time", "not a valid timestamp"
        if t.seconds + t.nanos / 1e9 > now + MAX_FUTURE_SECONDS:
            return "time", "more than 1 h in the future"
    if not math.isfinite(event.value):
        return "value", "must be finite"
    if len(event.attributes) > MAX_ATTRIBUTES:
        return "attributes", f"at most {MAX_ATTRIBUTES} entries, got {len(event.attributes)}"
    for key, value in event.attributes.items():
        if not 1 <= len(key) <= MAX_KEY_CHARS:
            return "attributes", f"keys are 1-{MAX_KEY_CHARS} characters, got {len(key)}"
        if len(value) > MAX_VALUE_CHARS:
            return "attributes", (
                f"value of {key[:64]!r} is {len(value)} characters; at most {MAX_VALUE_CHARS}"
            )
    if len(event.correlation_id) > MAX_CORRELATION_CHARS:
        return "correlation_id", f"at most {MAX_CORRELATION_CHARS} characters"
    if event.correlation_id and not event.correlation_id.isprintable():
        return "correlation_id", "must be printable"
    return None


def redact_attributes(attributes: dict[str, str]) -> dict[str, str]:
    return {
        k: (REDACTED if is_secret_key(k) else scrub_text(v)) for k, v in attributes.items()
    }


class TokenBuckets:
    """Event limits keyed by (source, peer) on the shared libs.token_buckets (an LRU of at
    most `max_keys` buckets), with the reason a caller is told when a batch is refused."""

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.burst = float(burst)
        self._buckets: SharedTokenBuckets[tuple[str, str]] = SharedTokenBuckets(
            rate, burst, max_keys
        )

    def take(self, needs: dict[tuple[str, str], int], now: float | None = None) -> str | None:
        """Take every bucket's tokens, or none: None on success, else why not."""
        short = self._buckets.take(needs, now)
        if short is None:
            return None
        (source, peer), wait = short
        count = needs[(source, peer)]
        if count > self.burst:
            return (
                f"{count} events from source {source!r} exceed the burst of "
                f"{self.burst:g}; send smaller batches"
            )
        return (
            f"rate limit for source {source!r} from {peer}: {self.rate:g} events/s "
            f"(burst {self.burst:g}); retry in {wait:.1f}s"
        )


@dataclass
class Outcome:
    accepted: int
    rejections: list[pb.EventRejection]
    limited: str | None = None  # set when the rate limit refused the batch


class EventRecorder:
    def __init__(
        self, registry: CollectorRegistry, rate: float, burst: int, name_cap: int
    ) -> None:
        self.buckets = TokenBuckets(rate, burst)
        self.events_total = Counter(
            "bytebot_client_events",
            "Client telemetry events recorded, by source, severity and event name.",
            ["source", "severity", "name"],
            registry=registry,
        )
        self.rejected_total = Counter(
            "bytebot_client_events_rejected",
            "Client telemetry events rejected, by reason (the invalid field or rate_limit).",
            ["reason"],
            registry=registry,
        )
        self.names = LabelGuard(
            "bytebot_client_events_total", "name", max_values=name_cap, registry=registry
        )
        for reason in (*REJECT_FIELDS, "rate_limit"):
            self.rejected_total.labels(reason=reason)

    def record(self, events: list[pb.ClientEvent], peer: str | None) -> Outcome:
        now = time.time()
        rejections: list[pb.EventRejection] = []
        valid: list[pb.ClientEvent] = []
        for index, event in enumerate(events):
            problem = validate_event(event, now)
            if problem is None:
                valid.append(event)
            else:
                field, reason = problem
                rejections.append(pb.EventRejection(index=index, field=field, reason=reason))
                self.rejected_total.labels(reason=field).inc()
        host = peer_host(peer)
        needs: dict[tuple[str, str], int] = {}
        for event in valid:
            needs[(event.source, host)] = needs.get((event.source, host), 0) + 1
        limited = self.buckets.take(needs) if needs else None
        if limited is not None:
            self.rejected_total.labels(reason="rate_limit").inc(len(valid))
            return Outcome(0, rejections, limited)
        for event in valid:
            self._emit(event, host)
        return Outcome(len(valid), rejections)

    def _emit(self, event: pb.ClientEvent, peer: str) -> None:
        severity = SEVERITY_NAMES[event.severity]
        self.events_total.labels(
            source=event.source, severity=severity, name=self.names(event.name)
        ).inc()
        fields: dict[str, object] = {
            "event_name": event.name,
            "event_source": event.source,
            "event_severity": severity,
            "peer_host": peer,
            "attributes": redact_attributes(dict(event.attributes)),
        }
        if event.value:
            fields["event_value"] = event.value
        if event.HasField("time"):
            fields["event_time"] = event.time.ToJsonString()
        # The event's own correlation id links it with the client's server-side calls;
        # without one it keeps the RecordEvents call's id (bound by the interceptor).
        write = getattr(log, severity)  # the logger method of that level (info, warning…)
        if event.correlation_id:
            with correlation_scope(event.correlation_id, user_id=get_user_id()):
                write("client event", **fields)
        else:
            write("client event", **fields)
