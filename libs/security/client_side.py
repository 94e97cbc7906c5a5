"""Outgoing calls: the service's bearer token, TLS/mTLS channel credentials, and the caller's
remaining deadline (deadlines.py).

Why a metadata-adding interceptor and not `grpc.metadata_call_credentials`: gRPC only sends
call credentials over TLS channels, and in-cluster traffic may be plaintext behind a mesh;
the interceptor works on both. Over TLS the token is encrypted like any header.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc
from grpc import aio

from libs.edge import CallHook, CallState, HookFactory
from libs.edge.callmeta import RpcKind
from libs.edge.client_aio import aio_client_edge
from libs.edge.client_sync import ClientEdge
from libs.security.deadlines import clamp_timeout
from libs.security.tls import TlsConfigError, read_file

AUTHORIZATION = "authorization"


class TokenSource:
    """A bearer token from a literal or a file (re-read when its mtime changes)."""

    def __init__(self, token: str | None = None, path: str | None = None) -> None:
        if (token is None) == (path is None):
            raise ValueError("give exactly one of token or path")
        self._token = token
        self._path = path
        self._mtime: float | None = None
        self._lock = threading.Lock()
        if path is not None:
            try:
                self._reload()
            except OSError as exc:
                raise TlsConfigError(
                    f"cannot read the client token file {path}: {exc.strerror}"
                ) from None
            if not self._token:
                raise TlsConfigError(f"the client token file {path} is empty")

    def _reload(self) -> None:
        assert self._path is not None
        stat = os.stat(self._path)
        with open(self._path, encoding="utf-8") as fh:
            self._token = fh.read().strip()
        self._mtime = stat.st_mtime

    def token(self) -> str:
        if self._path is not None:
            try:
                if os.stat(self._path).st_mtime != self._mtime:
                    with self._lock:
                        self._reload()
            except OSError:
                pass  # keep the last token; the server will say UNAUTHENTICATED if it is stale
        return self._token or ""


def _with_auth(metadata: Any, source: TokenSource | None) -> Any:
    if source is None:
        return metadata
    pairs = list(metadata) if metadata else []
    if any(k == AUTHORIZATION for k, _ in pairs):
        return metadata  # the caller chose its own credentials
    pairs.append((AUTHORIZATION, f"Bearer {source.token()}"))
    return pairs


class _OutgoingHook(CallHook):
    """Adds the bearer token (unless the caller chose its own credentials) and clamps the
    timeout to the remaining deadline of the call being served (deadlines.py)."""

    __slots__ = ("source",)

    def __init__(self, source: TokenSource | None) -> None:
        self.source = source

    def begin(self, call: CallState, details: Any) -> None:
        call.outgoing = _with_auth(call.outgoing, self.source)
        call.timeout = clamp_timeout(call.timeout)


class OutgoingSecurity(HookFactory):
    """Security's hook in the client edge's chain (libs/edge), first: the same for every
    method."""

    def __init__(self, source: TokenSource | None = None) -> None:
        self.hook = _OutgoingHook(source)

    def for_method(self, method: str, kind: RpcKind) -> CallHook:
        return self.hook


@dataclass
class ClientSecurity:
    """What a channel factory needs: credentials (None = plaintext), extra channel options,
    and the interceptors (put them first in the chain)."""

    credentials: grpc.ChannelCredentials | None = None
    options: Sequence[tuple[str, Any]] = field(default_factory=tuple)
    token: TokenSource | None = None

    def client_hooks(self) -> list[Any]:
        """Security's place in the client edge's chain: first."""
        return [OutgoingSecurity(self.token)]

    def aio_interceptors(self) -> list[Any]:
        """A client edge of security alone (channels built by libs/runtime/client.py put
        `client_hooks()` into their one edge instead)."""
        return aio_client_edge(self.client_hooks())

    def sync_interceptors(self) -> list[Any]:
        return [ClientEdge(self.client_hooks())]

    def aio_channel(self, target: str, options: Sequence[tuple[str, Any]] = (),
                    interceptors: Sequence[Any] | None = None) -> aio.Channel:
        opts = [*options, *self.options]
        if self.credentials is not None:
            return aio.secure_channel(target, self.credentials, opts, interceptors=interceptors)
        return aio.insecure_channel(target, opts, interceptors=interceptors)

    def sync_channel(self, target: str, options: Sequence[tuple[str, Any]] = ()) -> grpc.Channel:
        opts = [*options, *self.options]
        if self.credentials is not None:
            return grpc.secure_channel(target, self.credentials, opts)
        return grpc.insecure_channel(target, opts)

    @classmethod
    def from_settings(cls, settings: Any) -> ClientSecurity:
        token = (
            TokenSource(path=settings.client_token_file) if settings.client_token_file else None
        )
        credentials = None
        options: list[tuple[str, Any]] = []
        if settings.client_tls or settings.tls_ca_file:
            credentials = channel_credentials(
                settings.tls_ca_file, settings.tls_client_cert_file, settings.tls_client_key_file
            )
            if settings.tls_server_name:
                options.append(("grpc.ssl_target_name_override", settings.tls_server_name))
        return cls(credentials=credentials, options=tuple(options), token=token)


def channel_credentials(
    ca_file: str | None, cert_file: str | None = None, key_file: str | None = None
) -> grpc.ChannelCredentials:
    """TLS credentials: `ca_file` (None: system roots), and our certificate for mTLS."""
    if (cert_file is None) != (key_file is None):
        raise TlsConfigError("tls_client_cert_file and tls_client_key_file go together")
    return grpc.ssl_channel_credentials(
        root_certificates=read_file(ca_file, "TLS CA bundle") if ca_file else None,
        private_key=read_file(key_file, "TLS client key") if key_file else None,
        certificate_chain=read_file(cert_file, "TLS client certificate") if cert_file else None,
    )


__all__ = [
    "AUTHORIZATION",
    "ClientSecurity",
    "OutgoingSecurity",
    "TokenSource",
    "channel_credentials",
]
