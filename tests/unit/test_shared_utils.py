"""The small utilities that exist once in libs/ (issue 13 item 5): peer parsing, host
formatting, gRPC infrastructure service names, token buckets."""

from __future__ import annotations

import pytest

from libs.grpc_services import is_channelz, is_health, is_reflection
from libs.net import bracketed, host_for_clients, parse_peer, peer_host
from libs.token_buckets import TokenBuckets


@pytest.mark.parametrize(("peer", "expected"), [
    ("ipv4:10.0.0.7:51234", ("10.0.0.7", 51234)),
    ("ipv6:[::1]:4000", ("::1", 4000)),
    ("ipv6:[2001:db8::5]:443", ("2001:db8::5", 443)),
    ("unix:/run/bytebot.sock", ("/run/bytebot.sock", None)),
    ("ipv4:10.0.0.7", ("10.0.0.7", None)),  # no port: the address as given
    ("", ("unknown", None)),
    (None, ("unknown", None)),
])
def test_parse_peer(peer: str | None, expected: tuple[str, int | None]) -> None:
    assert parse_peer(peer) == expected
    assert peer_host(peer) == expected[0]


def test_parse_peer_cache_stays_bounded() -> None:
    for port in range(3000):
        parse_peer(f"ipv4:10.0.0.1:{port}")
    from libs import net

    assert len(net._peer_cache) <= net._MAX_CACHED + 1


@pytest.mark.parametrize(("host", "expected"), [
    ("::1", "[::1]"), ("[::1]", "[::1]"), ("2001:db8::5", "[2001:db8::5]"),
    ("10.0.0.7", "10.0.0.7"), ("tasks", "tasks"),
])
def test_bracketed(host: str, expected: str) -> None:
    assert bracketed(host) == expected


@pytest.mark.parametrize(("host", "expected"), [
    ("0.0.0.0", "127.0.0.1"), ("", "127.0.0.1"),
    # the IPv6 wildcard becomes the IPv6 loopback (an IPv6-only socket does not answer on
    # 127.0.0.1); the two old copies disagreed here
    ("::", "[::1]"), ("[::]", "[::1]"),
    ("::1", "[::1]"), ("127.0.0.1", "127.0.0.1"), ("tasks.internal", "tasks.internal"),
])
def test_host_for_clients(host: str, expected: str) -> None:
    assert host_for_clients(host) == expected


def test_infrastructure_service_names() -> None:
    assert is_health("grpc.health.v1.Health")
    assert not is_health("grpc.health.v1.HealthX")
    assert is_reflection("grpc.reflection.v1.ServerReflection")
    assert is_reflection("grpc.reflection.v1alpha.ServerReflection")
    assert not is_reflection("bytebot.tasks.v1.TaskService")
    assert is_channelz("grpc.channelz.v1.Channelz")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_token_buckets_refill_and_wait() -> None:
    clock = Clock()
    buckets: TokenBuckets[str] = TokenBuckets(rate=2.0, burst=3, clock=clock)
    for _ in range(3):
        assert buckets.take({"a": 1}) is None
    key, wait = buckets.take({"a": 1}) or ("", 0.0)
    assert key == "a" and wait == pytest.approx(0.5)  # one token at 2/s
    clock.now += 0.5
    assert buckets.take({"a": 1}) is None
    clock.now += 100  # refills only up to the burst
    for _ in range(3):
        assert buckets.take({"a": 1}) is None
    assert buckets.take({"a": 1}) is not None


def test_token_buckets_take_all_or_none() -> None:
    clock = Clock()
    buckets: TokenBuckets[str] = TokenBuckets(rate=1.0, burst=5, clock=clock)
    assert buckets.take({"a": 4}) is None
    short = buckets.take({"b": 2, "a": 2})
    assert short is not None and short[0] == "a"
    assert buckets.take({"b": 5}) is None  # b was not charged by the refused take


def test_token_buckets_forget_the_least_recently_used() -> None:
    buckets: TokenBuckets[int] = TokenBuckets(rate=1.0, burst=1, max_keys=10, clock=Clock())
    for key in range(50):
        buckets.take({key: 1})
    assert len(buckets) == 10
    assert buckets.take({0: 1}) is None  # forgotten: back full


def test_token_buckets_reject_a_zero_rate() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBuckets(rate=0, burst=1)


def test_call_details_replace_only_what_is_named() -> None:
    import grpc
    from grpc import aio

    from libs.call_details import SyncCallDetails, aio_details, sync_details

    creds = grpc.access_token_call_credentials("t")
    sync = SyncCallDetails("/pkg.S/M", None, [("a", "1")], creds, True, grpc.Compression.Gzip)
    new = sync_details(sync, timeout=5.0)
    assert isinstance(new, grpc.ClientCallDetails)
    assert new == ("/pkg.S/M", 5.0, [("a", "1")], creds, True, grpc.Compression.Gzip)
    assert sync_details(sync, metadata=[("b", "2")]).metadata == [("b", "2")]
    assert sync_details(sync).timeout is None

    original = aio.ClientCallDetails("/pkg.S/M", 3.0, aio.Metadata(("a", "1")), creds, False)
    moved = aio_details(original, metadata=aio.Metadata(("b", "2")))
    assert isinstance(moved, aio.ClientCallDetails)
    assert (moved.method, moved.timeout, moved.credentials, moved.wait_for_ready) == (
        "/pkg.S/M", 3.0, creds, False)
    assert list(moved.metadata) == [("b", "2")]
    assert aio_details(original, timeout=None).timeout is None


@pytest.mark.parametrize("kind", ["unary_unary", "unary_stream", "stream_unary", "stream_stream"])
def test_rebuild_handler_keeps_kind_and_serializers(kind: str) -> None:
    import grpc

    from libs.handlers import rebuild

    def behavior(request, context):
        return request

    def wrapped(request, context):
        return request

    make = getattr(grpc, f"{kind}_rpc_method_handler")
    handler = make(behavior, request_deserializer=bytes.upper, response_serializer=bytes.lower)
    new = rebuild(handler, behavior=wrapped)
    assert getattr(new, kind) is wrapped
    assert (new.request_streaming, new.response_streaming) == (
        handler.request_streaming, handler.response_streaming)
    assert new.request_deserializer is bytes.upper and new.response_serializer is bytes.lower
    raw = rebuild(handler, request_deserializer=None)
    assert raw.request_deserializer is None and getattr(raw, kind) is behavior
