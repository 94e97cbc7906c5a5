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

from libs.call_details import aio_details, sync_details
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


class _AioBase:
    def __init__(self, source: TokenSource | None) -> None:
        self.source = source

    def _details(self, details: Any) -> Any:
        metadata = _with_auth(details.metadata, self.source)
        if metadata is not details.metadata and not isinstance(metadata, aio.Metadata):
            metadata = aio.Metadata(*metadata)
        return aio_details(details, timeout=clamp_timeout(details.timeout), metadata=metadata)


class _AioUU(_AioBase, aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


class _AioUS(_AioBase, aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return await continuation(self._details(details), request)


class _AioSU(_AioBase, aio.StreamUnaryClientInterceptor):
    async def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)


class _AioSS(_AioBase, aio.StreamStreamClientInterceptor):
    async def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return await continuation(self._details(details), requests)


def aio_outgoing_interceptors(source: TokenSource | None = None) -> list[Any]:
    """Bearer token (if any) + deadline propagation for a grpc.aio channel (all 4 kinds)."""
    return [cls(source) for cls in (_AioUU, _AioUS, _AioSU, _AioSS)]


class SyncOutgoingInterceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    """The blocking twin of `aio_outgoing_interceptors`."""

    def __init__(self, source: TokenSource | None = None) -> None:
        self.source = source

    def _details(self, details: Any) -> Any:
        return sync_details(
            details, metadata=_with_auth(details.metadata, self.source),
            timeout=clamp_timeout(details.timeout),
        )

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation: Any, details: Any, requests: Any) -> Any:
        return continuation(self._details(details), requests)


@dataclass
class ClientSecurity:
    """What a channel factory needs: credentials (None = plaintext), extra channel options,
    and the interceptors (put them first in the chain)."""

    credentials: grpc.ChannelCredentials | None = None
    options: Sequence[tuple[str, Any]] = field(default_factory=tuple)
    token: TokenSource | None = None

    def aio_interceptors(self) -> list[Any]:
        return aio_outgoing_interceptors(self.token)

    def sync_interceptors(self) -> list[Any]:
        return [SyncOutgoingInterceptor(self.token)]

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
    "SyncOutgoingInterceptor",
    "TokenSource",
    "aio_outgoing_interceptors",
    "channel_credentials",
]
