"""The per-call security decision: who is calling, may they call this method, are they
within their rate limit. Computed once per call by security's hook in the server edge's chain
(server_side.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from libs.grpc_services import is_health, is_reflection
from libs.net import peer_host
from libs.security.authn import Authenticator
from libs.security.authz import ServicePolicy
from libs.security.identity import Identity
from libs.security.ratelimit import RateLimiter
from libs.status.errors import ResourceExhausted, RpcError, Unauthenticated


@dataclass(frozen=True, slots=True)
class Decision:
    identity: Identity | None
    error: RpcError | None = None
    # True when authentication is on: the logs' userId is the identity's (or none), never
    # the caller-sent x-user-id.
    authenticated_mode: bool = False


OPEN = Decision(None)


def service_of(method: str) -> str:
    """`/pkg.Service/Method` → `pkg.Service`."""
    return method.lstrip("/").partition("/")[0]


class Guard:
    def __init__(
        self,
        authenticator: Authenticator | None,
        policy: ServicePolicy,
        limiter: RateLimiter | None = None,
        *,
        exempt_roles: Iterable[str] = ("worker",),
        allow_reflection_unauthenticated: bool = False,
    ) -> None:
        self.authenticator = authenticator
        self.policy = policy
        self.limiter = limiter
        self.exempt_roles = frozenset(exempt_roles)
        self.allow_reflection = allow_reflection_unauthenticated

    @property
    def auth_enabled(self) -> bool:
        return self.authenticator is not None

    def decide(
        self, method: str, metadata: Iterable[tuple[str, Any]], peer: str | None
    ) -> Decision:
        service = service_of(method)
        if is_health(service):
            return OPEN  # kubelet and grpc_health_probe carry no credentials
        authed = self.authenticator is not None
        if is_reflection(service) and self.allow_reflection:
            return Decision(None, None, authed)
        identity: Identity | None = None
        if self.authenticator is not None:
            try:
                identity = self.authenticator.authenticate(metadata or ())
            except Unauthenticated as exc:
                return Decision(None, exc, True)
            except Exception:  # a bug here must not let anyone in, nor crash the call
                return Decision(None, Unauthenticated("invalid token"), True)
            try:
                self.policy.check(service, identity)
            except RpcError as exc:
                return Decision(identity, exc, True)
        if self.limiter is not None and not (identity and identity.has_role(*self.exempt_roles)):
            key = identity.subject if identity else "peer:" + peer_host(peer)
            wait = self.limiter.acquire(key)
            if wait > 0:
                who = f"user {identity.subject!r}" if identity else "this client"
                return Decision(
                    identity,
                    ResourceExhausted(
                        f"rate limit exceeded for {who} ({self.limiter.rate:g} requests/s, "
                        f"burst {self.limiter.burst:g}): retry after {wait:.2f}s"
                    ),
                    authed,
                )
        return Decision(identity, None, authed)


__all__ = ["OPEN", "Decision", "Guard", "service_of"]
