"""Event validation, the token buckets and attribute redaction (pure functions)."""

import math

from bytebot.telemetry.v1 import telemetry_pb2 as pb

from services.telemetry.events import TokenBuckets, peer_host, redact_attributes, validate_event


def test_validation_names_the_field():
    now = 2_000_000_000.0
    assert validate_event(pb.ClientEvent(name="ui.ok_1", source="cli"), now) is None
    assert validate_event(pb.ClientEvent(name="1bad", source="cli"), now)[0] == "name"
    assert validate_event(pb.ClientEvent(name="a" * 65, source="cli"), now)[0] == "name"
    assert validate_event(pb.ClientEvent(name="ok", source="web"), now)[0] == "source"
    assert validate_event(pb.ClientEvent(name="ok", source="ui", value=math.inf), now)[0] == "value"
    bad_severity = pb.ClientEvent(name="ok", source="ui")
    bad_severity.severity = 42  # an unknown enum value (open enums)
    assert validate_event(bad_severity, now)[0] == "severity"


def test_buckets_refill_over_time_and_are_all_or_nothing():
    buckets = TokenBuckets(rate=2.0, burst=4)
    assert buckets.take({("ui", "h"): 4}, now=0.0) is None
    refused = buckets.take({("ui", "h"): 1, ("cli", "h"): 1}, now=0.1)
    assert refused is not None and "'ui'" in refused
    assert buckets.take({("cli", "h"): 4}, now=0.1) is None  # the refusal took nothing
    assert buckets.take({("ui", "h"): 1}, now=0.6) is None  # 0.5 s → one token back
    assert "burst" in buckets.take({("agent", "h"): 5}, now=1.0)


def test_peer_host_and_redaction():
    assert peer_host("ipv4:127.0.0.1:53211") == "127.0.0.1"
    assert peer_host("ipv6:[::1]:4000") == "::1"
    assert peer_host(None) == "unknown"
    assert redact_attributes({"db_password": "x", "SessionToken": "y", "page": "home"}) == {
        "db_password": "[REDACTED]", "SessionToken": "[REDACTED]", "page": "home",
    }
