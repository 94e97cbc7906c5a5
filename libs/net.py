"""gRPC peer strings and host formatting, once for every package (issue 13 item 5).

    parse_peer("ipv4:10.0.0.7:51234")   -> ("10.0.0.7", 51234)
    parse_peer("ipv6:[::1]:51234")      -> ("::1", 51234)
    peer_host("ipv6:[::1]:51234")       -> "::1"        (rate-limit keys: the port changes)
    bracketed("::1")                    -> "[::1]"      (IPv6 literals in `host:port`)
    host_for_clients("0.0.0.0")         -> "127.0.0.1"  (where a local client connects)
    host_for_clients("::")              -> "[::1]"
"""

from __future__ import annotations

_peer_cache: dict[str, tuple[str, int | None]] = {}
_MAX_CACHED = 1024


def parse_peer(peer: str | None) -> tuple[str, int | None]:
    """grpc's `context.peer()` -> (address, port): `ipv4:1.2.3.4:5`, `ipv6:[::1]:5`,
    `unix:/path` (port None), missing -> ("unknown", None). Cached: a server sees few peers."""
    if not peer:
        return ("unknown", None)
    hit = _peer_cache.get(peer)
    if hit is not None:
        return hit
    scheme, _, rest = peer.partition(":")
    result: tuple[str, int | None]
    if scheme in ("ipv4", "ipv6"):
        host, _, port = rest.rpartition(":")
        host = host.strip("[]")
        result = (host, int(port)) if port.isdigit() else (rest, None)
    else:
        result = (rest or peer, None)
    if len(_peer_cache) > _MAX_CACHED:
        _peer_cache.clear()
    _peer_cache[peer] = result
    return result


def peer_host(peer: str | None) -> str:
    """The peer's address without the port (which changes per connection)."""
    return parse_peer(peer)[0]


def bracketed(host: str) -> str:
    """IPv6 literals need brackets in `host:port` targets and URLs."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def host_for_clients(host: str) -> str:
    """The address a client on this machine uses for a server bound to `host`: a wildcard
    bind becomes the loopback of its own family (`::` -> `[::1]`: an IPv6-only socket does
    not answer on 127.0.0.1), IPv6 literals get brackets."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host in ("::", "[::]"):
        return "[::1]"
    return bracketed(host)


__all__ = ["bracketed", "host_for_clients", "parse_peer", "peer_host"]
