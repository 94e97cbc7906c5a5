"""Authentication: `authorization: Bearer <token>` → an `Identity`, or UNAUTHENTICATED.

Modes: `token` (static tokens file), `jwt` (HS256/RS256), `token+jwt` (a token with the
shape of a JWT is verified as one, anything else is looked up in the tokens file).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from libs.security.identity import Identity
from libs.security.jwt_auth import JwtRejected, JwtVerifier
from libs.security.settings import SecuritySettings
from libs.security.tokens import TokenStore
from libs.status.errors import Unauthenticated

AUTHORIZATION = "authorization"
_MAX_TOKEN_CHARS = 8192


class AuthConfigError(ValueError):
    """The authentication settings cannot work (start-up fails with this message)."""


def bearer_token(metadata: Iterable[tuple[str, Any]]) -> str:
    """The token of the single `authorization: Bearer …` header, or UNAUTHENTICATED."""
    values = [v for k, v in metadata if k == AUTHORIZATION]
    if not values:
        raise Unauthenticated(
            "missing credentials: send the metadata 'authorization: Bearer <token>'"
        )
    if len(values) > 1:
        raise Unauthenticated("more than one authorization header")
    value = values[0]
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("malformed authorization header: expected 'Bearer <token>'")
    if len(token) > _MAX_TOKEN_CHARS:
        raise Unauthenticated("invalid token: too long")
    return token


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("ey")


class Authenticator:
    def __init__(
        self, mode: str, tokens: TokenStore | None = None, jwt: JwtVerifier | None = None
    ) -> None:
        self.mode = mode
        self.tokens = tokens
        self.jwt = jwt

    @classmethod
    def from_settings(cls, settings: SecuritySettings) -> Authenticator | None:
        """None when auth_mode is none; AuthConfigError for settings that cannot work."""
        mode = settings.auth_mode  # one of AUTH_MODES: its settings type (AuthMode) checked it
        if mode == "none":
            return None
        tokens = jwt = None
        try:
            if "token" in mode:
                if not settings.tokens_file:
                    raise AuthConfigError(f"auth_mode {mode} needs BYTEBOT_TOKENS_FILE")
                tokens = TokenStore(settings.tokens_file)
            if "jwt" in mode:
                jwt = JwtVerifier.from_files(
                    settings.jwt_hs256_secret_file,
                    settings.jwt_public_key_file,
                    issuer=settings.jwt_issuer,
                    audience=settings.jwt_audience,
                    leeway_seconds=settings.jwt_leeway_seconds,
                    roles_claim=settings.jwt_roles_claim,
                )
        except AuthConfigError:
            raise
        except ValueError as exc:  # TokenFileError, JwtConfigError
            raise AuthConfigError(str(exc)) from None
        return cls(mode, tokens, jwt)

    def authenticate(self, metadata: Iterable[tuple[str, Any]]) -> Identity:
        token = bearer_token(metadata)
        if self.jwt is not None and (self.tokens is None or _looks_like_jwt(token)):
            try:
                return self.jwt.verify(token)
            except JwtRejected as exc:
                raise Unauthenticated(str(exc)) from None
        assert self.tokens is not None
        identity = self.tokens.lookup(token)
        if identity is None:
            raise Unauthenticated("invalid token")
        return identity


__all__ = ["AuthConfigError", "Authenticator", "bearer_token"]
