"""Security settings every service has: a field of `libs.runtime.config.ServiceSettings`
(`settings.security`), composed rather than inherited. Each field keeps its flat
`BYTEBOT_<FIELD>` variable (BYTEBOT_AUTH_MODE, BYTEBOT_TLS_CERT_FILE, …): the security
settings are their own pydantic-settings class over the same environment, so
`SecuritySettings()` alone reads them too (the people-facing CLIs do, libs/stack/client.py).

This module must not import `libs.runtime` (the runtime imports it).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import Field

from libs.env_settings import CommaList, EnvSettings, Folded, JsonObject, NonNegativeInt, Seconds

AuthMode = Literal["none", "token", "jwt", "token+jwt"]
AUTH_MODES: tuple[str, ...] = get_args(AuthMode)


class SecuritySettings(EnvSettings):
    # --- authentication (server side) -----------------------------------------------------
    # none | token | jwt | token+jwt. "none" is for loopback development only: binding any
    # other address with it fails at start-up unless insecure_allow_open is true.
    auth_mode: Annotated[AuthMode, Folded] = "none"
    # Static bearer tokens, stored hashed: one line per token `sha256:<hex> subject roles`
    # (roles comma-separated); a mounted Kubernetes Secret works as is. See tokens.py.
    tokens_file: str | None = None
    # JWT verification keys: HS256 shared secret (file content) and/or RS256 public key (PEM).
    jwt_hs256_secret_file: str | None = None
    jwt_public_key_file: str | None = None
    # Checked when set (a JWT without the claim, or with another value, is rejected).
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    # Clock skew tolerated on exp/nbf/iat.
    jwt_leeway_seconds: Seconds = 30.0
    # Claim holding the roles (a list or a space/comma separated string).
    jwt_roles_claim: str = "roles"
    # grpcurl list/describe without a token (health is always open: kubelet probes it).
    allow_reflection_unauthenticated: bool = False
    # Production: only the `worker` role may call ComputerService and InferenceService.
    production_mode: bool = False
    # Extra per-service allow lists: {"pkg.Service": ["role", ...]} (JSON).
    service_roles: JsonObject[list[str]] = Field(default_factory=dict)
    # Explicit opt-in to serve without authentication on a non-loopback address.
    insecure_allow_open: bool = False

    # --- rate limits (per authenticated identity; per peer address when auth is off) ------
    # Requests per second refilled into each caller's bucket; 0 disables rate limiting.
    rate_limit_per_second: Annotated[float, Field(ge=0)] = 0.0
    # Bucket size (burst); 0 means 2 x rate_limit_per_second.
    rate_limit_burst: NonNegativeInt = 0
    # Roles never rate limited (service identities).
    rate_limit_exempt_roles: CommaList[str] = Field(default_factory=lambda: ["worker"])

    # --- TLS (server side) ---------------------------------------------------------------
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    # Set: mutual TLS, clients must present a certificate signed by this CA.
    tls_client_ca_file: str | None = None

    # --- outgoing calls (service to service) -------------------------------------------
    # Bearer token this service sends on its outgoing calls (file content, re-read when
    # the file changes so a rotated Secret is picked up).
    client_token_file: str | None = None
    # TLS for outgoing calls: on when client_tls is true or a CA bundle is given.
    client_tls: bool = False
    tls_ca_file: str | None = None
    # Our client certificate for servers that require mTLS.
    tls_client_cert_file: str | None = None
    tls_client_key_file: str | None = None
    # Expected server name when it differs from the target host (ssl_target_name_override).
    tls_server_name: str | None = None


__all__ = ["AUTH_MODES", "AuthMode", "SecuritySettings"]
