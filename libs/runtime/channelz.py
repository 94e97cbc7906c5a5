"""Channelz (`grpc.channelz.v1.Channelz`, grpcio-channelz) on every server: the servers,
listen and client sockets, calls started/succeeded/failed, and each client channel's
subchannels and connectivity state, as grpc-go and grpc-java operators query them:

    T=127.0.0.1:50051
    grpcurl -plaintext $T grpc.channelz.v1.Channelz/GetServers
    grpcurl -plaintext -d '{"server_id": 1}' $T grpc.channelz.v1.Channelz/GetServerSockets
    grpcurl -plaintext $T grpc.channelz.v1.Channelz/GetTopChannels

Channelz reports the whole process (C-core keeps the data for every channel and server), so
it exposes peer addresses: with authentication on it is admin-only (libs/security/authz.py),
and it is kept out of RPC metrics, spans and access logs like health
(libs/observability/filters.py). The grpc "admin" bundle (grpcio-admin) adds only CSDS
beside channelz, which is for xDS clients; we use no xDS, so channelz alone is served.
"""

from __future__ import annotations

from typing import Any

from grpc_channelz.v1 import channelz

CHANNELZ_SERVICE = "grpc.channelz.v1.Channelz"


def add_channelz(server: Any) -> str:
    """Add the channelz servicer to a sync or `grpc.aio` server (grpcio-channelz picks the
    asyncio servicer for aio servers); returns the service name for reflection."""
    channelz.add_channelz_servicer(server)
    return CHANNELZ_SERVICE


__all__ = ["CHANNELZ_SERVICE", "add_channelz"]
