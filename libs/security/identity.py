"""Who is calling: the authenticated identity of the current RPC, bound in a contextvar by
the server interceptor (grpc.aio runs each RPC in its own task; the sync interceptor binds it
around the call), so servicers read it with `current_identity()`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller. `kind`: "token" (static token file) or "jwt"."""

    subject: str
    roles: frozenset[str]
    kind: str

    def has_role(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def __repr__(self) -> str:  # never the credential, only who it is
        return f"Identity({self.subject!r}, roles={sorted(self.roles)}, kind={self.kind!r})"


_identity: ContextVar[Identity | None] = ContextVar("bytebot_identity", default=None)


def current_identity() -> Identity | None:
    """The caller of the current RPC; None when authentication is off (auth_mode none) or
    outside an RPC."""
    return _identity.get()


def bind_identity(identity: Identity | None) -> object:
    """Bind for the current context; returns the token for `reset_identity`."""
    return _identity.set(identity)


def reset_identity(token: object) -> None:
    _identity.reset(token)  # type: ignore[arg-type]


@contextmanager
def identity_scope(identity: Identity | None) -> Iterator[Identity | None]:
    """Run code as `identity` (tests, background jobs acting for a caller)."""
    token = _identity.set(identity)
    try:
        yield identity
    finally:
        _identity.reset(token)


__all__ = ["Identity", "bind_identity", "current_identity", "identity_scope", "reset_identity"]
