"""Pieces shared by the four interceptor modules (none of them know a call shape)."""

from __future__ import annotations

from typing import Any

import grpc

from libs.edge.callmeta import CallMeta
from libs.net import parse_peer
from libs.observability import correlation
from libs.observability import logging as obs_logging
from libs.status import errors

__all__ = ["parse_peer"]  # re-exported for the interceptor modules (libs/net.py)


def parse_target(target: str | None) -> tuple[str | None, int | None]:
    """`host:port`, `dns:///host:port`, `ipv4:…` -> (server.address, server.port)."""
    if not target:
        return None, None
    t = target
    for prefix in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if t.startswith(prefix):
            t = t[len(prefix):]
            break
    host, sep, port = t.rpartition(":")
    if sep and port.isdigit():
        return host.strip("[]"), int(port)
    return t, None


def metadata_dict(metadata: Any) -> dict[str, Any]:
    return dict(metadata) if metadata else {}


def terminated_code(context: Any) -> grpc.StatusCode:
    """The code of a call the peer ended (sync: not active; aio: task cancelled)."""
    remaining = context.time_remaining()
    if remaining is not None and remaining <= 0.01:
        return grpc.StatusCode.DEADLINE_EXCEEDED
    return grpc.StatusCode.CANCELLED


def details_str(details: Any) -> str | None:
    if details is None:
        return None
    if isinstance(details, bytes):  # sync contexts keep details as bytes
        return details.decode("utf-8", "replace")
    return str(details) or None


def log_uncaught(meta: CallMeta, exc: BaseException, correlation_id: str | None) -> None:
    """The stack trace goes to the log; the caller gets only the correlation id."""
    obs_logging.emit(
        "error",
        {
            "event": "uncaught exception in handler",
            "grpc.service": meta.service,
            "grpc.method": meta.method,
            "exc_info": exc,
            "correlationId": correlation_id or "unknown",
        },
    )


def internal_status(correlation_id: str | None) -> tuple[grpc.StatusCode, str]:
    return grpc.StatusCode.INTERNAL, errors.internal_error_message(correlation_id)


def outgoing_metadata(existing: Any) -> tuple[list[tuple[str, Any]], str, str | None]:
    """Caller metadata + correlation/user headers (unless the caller set them)."""
    pairs = list(existing) if existing else []
    keys = {k for k, _ in pairs}
    cid = None
    for k, v in pairs:
        if k == correlation.CORRELATION_HEADER:
            cid = v
    if cid is None:
        cid = correlation.get_correlation_id() or correlation.new_correlation_id()
        pairs.append((correlation.CORRELATION_HEADER, cid))
    uid = correlation.get_user_id()
    if uid and correlation.USER_HEADER not in keys:
        pairs.append((correlation.USER_HEADER, uid))
    return pairs, cid, uid
