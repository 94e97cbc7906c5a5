"""Client channels with our interceptors, keepalive, a default deadline and a retry policy.

    channel = create_channel("127.0.0.1:50053", observability=obs)       # grpc.aio
    stub = computer_pb2_grpc.ComputerServiceStub(channel)

Retry policy (gRPC service config, `DEFAULT_RETRY_POLICY`): a call that fails with
UNAVAILABLE is retried up to 3 more times with exponential backoff (0.1 s → 2 s, jittered by
gRPC). UNAVAILABLE means "the server did not do it, try again" (connection refused, server
draining, a handler raising `Unavailable` BEFORE any side effect) — our handlers keep that
convention, so the default applies to every method. A service with a method that is not safe
to repeat passes its own `service_config` (e.g. `retry_service_config(["pkg.Svc/Get"])`)
naming only the idempotent methods. Retries never extend the caller's deadline.

One retry layer per call (issue 17): code that retries a call itself — the task worker's
step executor, with its per-process retry budget and the step's deadline — creates its
channel with `retries=False` (no retry policy, `grpc.enable_retries=0`, so not even
transparent retries), because stacked layers multiply: 4 channel attempts x 3 executor
attempts was 12 RPCs per step, in lock-step across a fleet after an outage.

Default deadline: a unary call without a timeout gets `default_timeout` seconds (30 s), so
a hung dependency cannot hang its caller forever; streams (WatchTask…) are long-lived by
design and get none.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import grpc
from grpc import aio

from libs.edge import CallHook, CallState, HookFactory
from libs.edge.callmeta import RpcKind
from libs.edge.client_aio import aio_client_edge
from libs.edge.client_sync import ClientEdge
from libs.observability import client_peer

DEFAULT_TIMEOUT_SECONDS = 30.0
DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024

DEFAULT_RETRY_POLICY: dict[str, Any] = {
    "maxAttempts": 4,
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def retry_service_config(
    methods: Iterable[str] | None = None, retry_policy: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A service config retrying `methods` ("pkg.Service/Method" or "pkg.Service" for all
    its methods; None: every method of every service)."""
    if methods is None:
        names: list[dict[str, str]] = [{}]
    else:
        names = []
        for method in methods:
            service, _, name = method.partition("/")
            names.append({"service": service, "method": name} if name else {"service": service})
    return {
        "methodConfig": [{"name": names, "retryPolicy": dict(retry_policy or DEFAULT_RETRY_POLICY)}]
    }


def channel_options(
    *,
    service_config: dict[str, Any] | None = None,
    retries: bool = True,
    keepalive_time_ms: int = 30_000,
    keepalive_timeout_ms: int = 10_000,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    options: Sequence[tuple[str, Any]] = (),
) -> list[tuple[str, Any]]:
    if service_config is not None:
        config = service_config
    else:
        config = retry_service_config() if retries else {}
    base: dict[str, Any] = {
        "grpc.enable_retries": 1 if retries else 0,
        "grpc.service_config": json.dumps(config),
        # Keepalive pings find dead connections (a restarted pod) before a call does; the
        # server allows pings every 10 s (server.py), we send every 30 s.
        "grpc.keepalive_time_ms": keepalive_time_ms,
        "grpc.keepalive_timeout_ms": keepalive_timeout_ms,
        "grpc.keepalive_permit_without_calls": 0,
        "grpc.http2.max_pings_without_data": 0,
        "grpc.max_send_message_length": max_message_bytes,
        "grpc.max_receive_message_length": max_message_bytes,
    }
    base.update(dict(options))
    return list(base.items())


class _DefaultDeadlineHook(CallHook):
    __slots__ = ("timeout",)

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout

    def begin(self, call: CallState, details: Any) -> None:
        if call.timeout is None:
            call.timeout = self.timeout


class DefaultDeadline(HookFactory):
    """Unary calls without a timeout get a default one (streams may be long-lived)."""

    def __init__(self, timeout: float) -> None:
        self.hook = _DefaultDeadlineHook(timeout)

    def for_method(self, method: str, kind: RpcKind) -> CallHook | None:
        return self.hook if kind is RpcKind.UNARY else None


def _client_hooks(target: str, observability: Any, security: Any,
                  default_timeout: float | None) -> list[Any]:
    """The concerns of a channel's outgoing calls, in chain order: the token and the served
    call's remaining deadline first, then the default deadline, then observability (which
    records what the call really goes out with)."""
    hooks: list[Any] = []
    if security is not None:
        hooks.extend(security.client_hooks())
    if default_timeout is not None:
        hooks.append(DefaultDeadline(default_timeout))
    if observability is not None:
        hooks.extend(observability.client_hooks(target))
    return hooks


def create_channel(
    target: str,
    *,
    observability: Any = None,
    service_config: dict[str, Any] | None = None,
    retries: bool = True,
    default_timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    keepalive_time_ms: int = 30_000,
    keepalive_timeout_ms: int = 10_000,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    options: Sequence[tuple[str, Any]] = (),
    interceptors: Sequence[Any] = (),
    security: Any = None,
) -> aio.Channel:
    """A `grpc.aio` channel with the observability client interceptors (spans, metrics,
    logs, correlation forwarding); plaintext unless `security` says otherwise."""
    hooks = _client_hooks(target, observability, security, default_timeout)
    chain: list[Any] = aio_client_edge(hooks, client_peer(target)) if hooks else []
    chain.extend(interceptors)
    opts = channel_options(
        service_config=service_config,
        retries=retries,
        keepalive_time_ms=keepalive_time_ms,
        keepalive_timeout_ms=keepalive_timeout_ms,
        max_message_bytes=max_message_bytes,
        options=options,
    )
    if security is not None:  # libs.security: TLS/mTLS credentials when configured
        return security.aio_channel(target, opts, interceptors=chain or None)
    return aio.insecure_channel(target, options=opts, interceptors=chain or None)


def create_sync_channel(
    target: str,
    *,
    observability: Any = None,
    service_config: dict[str, Any] | None = None,
    retries: bool = True,
    default_timeout: float | None = DEFAULT_TIMEOUT_SECONDS,
    keepalive_time_ms: int = 30_000,
    keepalive_timeout_ms: int = 10_000,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
    options: Sequence[tuple[str, Any]] = (),
    interceptors: Sequence[Any] = (),
    security: Any = None,
) -> grpc.Channel:
    """The blocking twin of `create_channel` (CLI commands, thread-based code)."""
    opts = channel_options(
        service_config=service_config,
        retries=retries,
        keepalive_time_ms=keepalive_time_ms,
        keepalive_timeout_ms=keepalive_timeout_ms,
        max_message_bytes=max_message_bytes,
        options=options,
    )
    # libs.security (issue 9): TLS credentials, bearer token, deadline propagation
    channel = security.sync_channel(target, opts) if security else grpc.insecure_channel(
        target, options=opts
    )
    hooks = _client_hooks(target, observability, security, default_timeout)
    chain: list[Any] = [ClientEdge(hooks, client_peer(target))] if hooks else []
    chain.extend(interceptors)
    return grpc.intercept_channel(channel, *chain) if chain else channel


__all__ = [
    "DEFAULT_RETRY_POLICY",
    "DEFAULT_TIMEOUT_SECONDS",
    "channel_options",
    "create_channel",
    "create_sync_channel",
    "retry_service_config",
]
