"""How the people-facing CLI (`bytebot task`, `bytebot health`, `bytebot slo`) secures its
channels: the same `BYTEBOT_CLIENT_TOKEN_FILE` / TLS variables as a service's outgoing calls
(`libs.security.settings.SecuritySettings`, client part), so one exported variable works for
both — e.g. after `bytebot up --auth`:

    export BYTEBOT_CLIENT_TOKEN_FILE=var/auth/cli-token

Only the client fields are read: a CLI must not fail because a server-side variable of the
shell (BYTEBOT_GRPC_PORT, …) does not parse.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from libs.env_settings import SettingsError, env_name, load
from libs.security.client_side import ClientSecurity
from libs.security.settings import SecuritySettings
from libs.security.tls import TlsConfigError

CLIENT_FIELDS: tuple[str, ...] = (
    "client_token_file",
    "client_tls",
    "tls_ca_file",
    "tls_client_cert_file",
    "tls_client_key_file",
    "tls_server_name",
)


def client_settings(environ: Mapping[str, str] = os.environ) -> SecuritySettings:
    """The client part of the security settings from `BYTEBOT_*` variables (an empty
    variable counts as unset); every other security field keeps its default."""
    names = (env_name(field) for field in CLIENT_FIELDS)
    return load(SecuritySettings, environ={n: environ[n] for n in names if n in environ})


@contextmanager
def exit_on_bad_settings() -> Iterator[None]:
    """A bad client setting (unreadable token file, missing CA, a value that does not parse)
    ends the CLI with a one-line message instead of a traceback."""
    try:
        yield
    except (SettingsError, TlsConfigError) as exc:
        raise SystemExit(f"bytebot: error: {exc}") from None


def cli_security(environ: Mapping[str, str] = os.environ) -> ClientSecurity:
    """ClientSecurity for a CLI channel (see `exit_on_bad_settings`)."""
    with exit_on_bad_settings():
        return ClientSecurity.from_settings(client_settings(environ))


__all__ = ["CLIENT_FIELDS", "cli_security", "client_settings", "exit_on_bad_settings"]
