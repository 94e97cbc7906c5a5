"""Correlation id and user id of the current call, bound with contextvars (async and thread safe).

Server interceptors bind them for every RPC from the request metadata: `x-correlation-id`,
else `x-request-id`, else a new UUID4. Client interceptors forward the bound id on every
outgoing call. Code that runs outside an RPC (the tasks worker) binds them explicitly with
`correlation_scope`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar

CORRELATION_HEADER = "x-correlation-id"
REQUEST_ID_HEADER = "x-request-id"
USER_HEADER = "x-user-id"
# Correlation ids are echoed into logs and metadata: bound their size and alphabet.
_MAX_LEN = 128

_correlation_id: ContextVar[str | None] = ContextVar("bytebot_correlation_id", default=None)
_user_id: ContextVar[str | None] = ContextVar("bytebot_user_id", default=None)


def new_correlation_id() -> str:
    return str(uuid.uuid4())


def get_correlation_id() -> str | None:
    """The correlation id bound to the current call or scope, or None outside of both."""
    return _correlation_id.get()


def get_user_id() -> str | None:
    return _user_id.get()


def _clean(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = value.strip()
    if not value:
        return None
    if len(value) > _MAX_LEN or not value.isprintable():
        return None
    return value


def correlation_from_metadata(metadata: Mapping[str, str | bytes]) -> str:
    """`x-correlation-id`, else `x-request-id`, else a new UUID4."""
    return (
        _clean(metadata.get(CORRELATION_HEADER))
        or _clean(metadata.get(REQUEST_ID_HEADER))
        or new_correlation_id()
    )


# --- libs.security integration (issue 9) ---------------------------------------------------
# When authentication is on, the security interceptor (which runs before this layer) binds
# the authenticated subject here, and the caller-sent `x-user-id` is ignored: a client cannot
# claim another user's id. None = authenticated mode but no identity (rejected call).
_AUTH_UNSET: object = object()
_authenticated_user: ContextVar[object] = ContextVar(
    "bytebot_authenticated_user", default=_AUTH_UNSET
)


def set_authenticated_user(user_id: str | None) -> None:
    _authenticated_user.set(user_id)


def resolve_user_id(metadata: Mapping[str, str | bytes]) -> str | None:
    """Who is calling: the authenticated identity when auth is on, else `x-user-id`."""
    authenticated = _authenticated_user.get()
    if authenticated is not _AUTH_UNSET:
        return authenticated  # type: ignore[return-value]
    return _clean(metadata.get(USER_HEADER))
# --- end libs.security integration ---------------------------------------------------------


def bind(correlation_id: str | None, user_id: str | None = None) -> None:
    """Bind for the rest of the current context (interceptors run each call in its own)."""
    _correlation_id.set(correlation_id)
    _user_id.set(user_id)


def bind_incoming(metadata: Mapping[str, str | bytes]) -> tuple[str, str | None, bool]:
    """Bind a served call's correlation and user id; the flag says whether the caller needs
    the id echoed (it did not send `x-correlation-id` itself, so it cannot know it)."""
    sent = metadata.get(CORRELATION_HEADER)
    cid = correlation_from_metadata(metadata)
    uid = resolve_user_id(metadata)
    bind(cid, uid)
    return cid, uid, sent != cid


@contextmanager
def correlation_scope(
    correlation_id: str | None = None, user_id: str | None = None
) -> Iterator[str]:
    """Bind a correlation id (a new one when None) and user id for logs and outgoing calls."""
    cid = correlation_id or new_correlation_id()
    token_c = _correlation_id.set(cid)
    token_u = _user_id.set(user_id)
    try:
        yield cid
    finally:
        _correlation_id.reset(token_c)
        _user_id.reset(token_u)
