"""Pieces observability's hooks share (the call shapes live in libs/edge)."""

from __future__ import annotations

from typing import Any

from libs.observability import correlation


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
