"""Server TLS/mTLS credentials from certificate files (client side: client_side.py)."""

from __future__ import annotations

from pathlib import Path

import grpc


class TlsConfigError(ValueError):
    """A TLS setting cannot be used; the message names the file."""


def read_file(path: str, what: str) -> bytes:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise TlsConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not data.strip():
        raise TlsConfigError(f"{what} {path} is empty")
    return data


def server_credentials(
    cert_file: str | None, key_file: str | None, client_ca_file: str | None = None
) -> grpc.ServerCredentials | None:
    """None when TLS is not configured; with `client_ca_file`, clients must present a
    certificate signed by that CA (mutual TLS)."""
    if cert_file is None and key_file is None:
        if client_ca_file:
            raise TlsConfigError("tls_client_ca_file (mTLS) needs tls_cert_file and tls_key_file")
        return None
    if cert_file is None or key_file is None:
        raise TlsConfigError("tls_cert_file and tls_key_file go together")
    pair = (read_file(key_file, "TLS key"), read_file(cert_file, "TLS certificate"))
    if client_ca_file:
        return grpc.ssl_server_credentials(
            [pair],
            root_certificates=read_file(client_ca_file, "TLS client CA"),
            require_client_auth=True,
        )
    return grpc.ssl_server_credentials([pair])


__all__ = ["TlsConfigError", "read_file", "server_credentials"]
