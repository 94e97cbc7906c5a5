"""What `libs/runtime` calls: one object per server built from the settings.

    security = ServerSecurity.from_settings(settings.security)  # fails on unusable settings
    security.check_bind(settings.grpc_host)                     # open non-loopback → error
    server = aio.server(interceptors=security.aio_interceptors(obs.aio_server_interceptors()))
    port = security.add_port(server, address)                   # TLS when configured
    channel_kwargs: ClientSecurity.from_settings(settings.security)  # client_side.py
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

from libs.security.authn import AuthConfigError, Authenticator
from libs.security.authz import ServicePolicy
from libs.security.client_side import ClientSecurity
from libs.security.guard import Guard
from libs.security.ratelimit import RateLimiter
from libs.security.server_side import SecurityHooks, with_security
from libs.security.settings import SecuritySettings
from libs.security.tls import TlsConfigError, server_credentials


class SecurityConfigError(ValueError):
    """Security settings that must stop the start-up (the message says which and why)."""


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and names resolving only to them; "0.0.0.0"/"::" are every address."""
    host = host.strip("[]")
    if host in ("", "0.0.0.0", "::"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)


class ServerSecurity:
    def __init__(self, settings: Any, guard: Guard, credentials: Any) -> None:
        self.settings = settings
        self.guard = guard
        self.credentials = credentials

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> ServerSecurity:
        """From a service's `settings.security` (ranges and modes are already checked by
        the settings' own field types)."""
        try:
            authenticator = Authenticator.from_settings(settings)
            credentials = server_credentials(
                settings.tls_cert_file, settings.tls_key_file, settings.tls_client_ca_file
            )
            # outgoing settings too: a missing token or certificate fails the start-up, not
            # the first call to a dependency
            ClientSecurity.from_settings(settings)
        except (AuthConfigError, TlsConfigError) as exc:
            raise SecurityConfigError(str(exc)) from None
        limiter = None
        if settings.rate_limit_per_second > 0:
            limiter = RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst)
        guard = Guard(
            authenticator,
            ServicePolicy(settings.production_mode, settings.service_roles),
            limiter,
            exempt_roles=settings.rate_limit_exempt_roles,
            allow_reflection_unauthenticated=settings.allow_reflection_unauthenticated,
        )
        return cls(settings, guard, credentials)

    @property
    def auth_enabled(self) -> bool:
        return self.guard.auth_enabled

    def check_bind(self, host: str, log: Any = None) -> None:
        """Loopback may run open (with a warning); any other address needs authentication
        or the explicit `insecure_allow_open`."""
        if self.auth_enabled:
            return
        if is_loopback(host):
            if log is not None:
                log.warning(
                    "authentication is OFF (auth_mode none): development mode, loopback only",
                    grpc_host=host,
                )
            return
        if not self.settings.insecure_allow_open:
            raise SecurityConfigError(
                f"refusing to serve gRPC on {host} without authentication: set "
                "BYTEBOT_AUTH_MODE (token, jwt, token+jwt) or, to accept the risk, "
                "BYTEBOT_INSECURE_ALLOW_OPEN=true"
            )
        if log is not None:
            log.warning(
                "authentication is OFF on a non-loopback address (insecure_allow_open=true): "
                "anyone who can reach this port can call every RPC",
                grpc_host=host,
            )

    def describe(self) -> dict[str, Any]:
        """For the start-up log line (never a secret: modes and paths only)."""
        s = self.settings
        return {
            "auth_mode": s.auth_mode,
            "tls": self.credentials is not None,
            "mtls": bool(self.credentials is not None and s.tls_client_ca_file),
            "production_mode": s.production_mode,
            "rate_limit_per_second": s.rate_limit_per_second,
        }

    def server_hooks(self) -> list[Any]:
        """Security's place in the server edge's chain (libs/edge): after observability."""
        return [SecurityHooks(self.guard)]

    def aio_interceptors(self, observability: list[Any]) -> list[Any]:
        return with_security(self.guard, observability)

    def sync_interceptors(self, observability: list[Any]) -> list[Any]:
        return with_security(self.guard, observability)

    def add_port(self, server: Any, address: str) -> int:
        if self.credentials is None:
            return server.add_insecure_port(address)
        return server.add_secure_port(address, self.credentials)


__all__ = ["SecurityConfigError", "ServerSecurity", "is_loopback"]
