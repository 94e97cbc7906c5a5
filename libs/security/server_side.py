"""Security's hook in the server edge's chain (libs/edge): authenticate, authorise and
rate-limit each call (the guard's `Decision`), then bind who is calling.

It runs after observability in the chain, so a rejection (UNAUTHENTICATED /
PERMISSION_DENIED / RESOURCE_EXHAUSTED) is the call's status in metrics (401/403/429),
access logs and spans like any other; the identity it binds replaces the caller-claimed
`x-user-id` in the call's logs and outgoing calls when authentication is on.

Health is never authenticated (kubelet probes carry no token): it gets no hook at all.
Reflection is configurable (the guard decides).
"""

from __future__ import annotations

from typing import Any

from libs.edge import CallHook, CallState, HookFactory
from libs.edge.callmeta import RpcKind
from libs.grpc_services import is_health
from libs.observability import correlation
from libs.security.deadlines import bind_deadline, deadline_of
from libs.security.guard import Guard, service_of
from libs.security.identity import bind_identity


class SecurityHook(CallHook):
    """The guard's decision for calls to one method."""

    __slots__ = ("guard", "method")

    def __init__(self, guard: Guard, method: str) -> None:
        self.guard = guard
        self.method = method

    def begin(self, call: CallState, context: Any) -> None:
        decision = self.guard.decide(self.method, call.raw_metadata, context.peer())
        bind_identity(decision.identity)
        bind_deadline(deadline_of(context))
        if decision.authenticated_mode:
            user = decision.identity.subject if decision.identity else None
            correlation.set_authenticated_user(user)
            correlation.bind(call.correlation_id, user)
            call.user_id = user
        if decision.error is not None:
            raise decision.error


class SecurityHooks(HookFactory):
    def __init__(self, guard: Guard) -> None:
        self.guard = guard

    def for_method(self, method: str, kind: RpcKind) -> SecurityHook | None:
        if is_health(service_of(method)):
            return None
        return SecurityHook(self.guard, method)


def with_security(guard: Guard, observability: list[Any]) -> list[Any]:
    """The observability interceptors with security's hook added to their edge's chain
    (other interceptors in the list are kept as they are)."""
    out: list[Any] = []
    found = False
    for interceptor in observability:
        if hasattr(interceptor, "extended"):
            interceptor = interceptor.extended(SecurityHooks(guard))
            found = True
        out.append(interceptor)
    if not found:
        raise ValueError("no server edge (libs.edge) among the interceptors to add security to")
    return out


__all__ = ["SecurityHook", "SecurityHooks", "with_security"]
