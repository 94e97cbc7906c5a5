"""JWT bearer tokens: HS256 (shared secret) and RS256 (public key), issuer and audience
checked, exp/nbf enforced with a small leeway, `sub` required.

The key is chosen by the token's `alg` header and only algorithms with a configured key are
accepted: a token can never pick `none`, nor make us verify an HMAC with the RSA public key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import jwt

from libs.security.identity import Identity


class JwtConfigError(ValueError):
    pass


class JwtRejected(Exception):
    """Why a JWT is not accepted (message safe to return: it never contains the token)."""


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise JwtConfigError(f"cannot read {what} {path}: {exc.strerror}") from None


@dataclass
class JwtVerifier:
    hs256_secret: bytes | None = None
    rs256_public_key: bytes | None = None
    issuer: str | None = None
    audience: str | None = None
    leeway_seconds: float = 30.0
    roles_claim: str = "roles"

    @classmethod
    def from_files(
        cls,
        hs256_secret_file: str | None,
        public_key_file: str | None,
        **kwargs: object,
    ) -> JwtVerifier:
        secret = _read(hs256_secret_file, "JWT secret file").strip() if hs256_secret_file else None
        public = _read(public_key_file, "JWT public key file") if public_key_file else None
        if not secret and not public:
            raise JwtConfigError(
                "auth_mode jwt needs jwt_hs256_secret_file and/or jwt_public_key_file"
            )
        if secret is not None and len(secret) < 32:
            raise JwtConfigError("the HS256 secret must be at least 32 bytes")
        verifier = cls(hs256_secret=secret, rs256_public_key=public, **kwargs)  # type: ignore[arg-type]
        if public is not None:
            try:
                jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256).prepare_key(public)
            except Exception as exc:
                raise JwtConfigError(f"the JWT public key is not an RSA PEM key: {exc}") from None
        return verifier

    def _key_for(self, alg: str) -> bytes:
        if alg == "HS256" and self.hs256_secret:
            return self.hs256_secret
        if alg == "RS256" and self.rs256_public_key:
            return self.rs256_public_key
        raise JwtRejected(f"invalid token: algorithm {alg[:16]!r} is not accepted")

    def verify(self, token: str) -> Identity:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise JwtRejected("invalid token: malformed JWT") from None
        alg = str(header.get("alg", ""))
        key = self._key_for(alg)
        required = ["exp", "sub"]
        if self.issuer:
            required.append("iss")
        if self.audience:
            required.append("aud")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": required, "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError:
            raise JwtRejected("token expired") from None
        except jwt.ImmatureSignatureError:
            raise JwtRejected("token not yet valid (nbf/iat in the future)") from None
        except jwt.InvalidAudienceError:
            raise JwtRejected("invalid token: wrong audience") from None
        except jwt.InvalidIssuerError:
            raise JwtRejected("invalid token: wrong issuer") from None
        except jwt.MissingRequiredClaimError as exc:
            raise JwtRejected(f"invalid token: missing claim {exc.claim!r}") from None
        except jwt.InvalidSignatureError:
            raise JwtRejected("invalid token: bad signature") from None
        except jwt.PyJWTError:
            raise JwtRejected("invalid token") from None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip() or len(subject) > 256:
            raise JwtRejected("invalid token: 'sub' must be a non-empty string")
        return Identity(subject.strip(), _roles(claims.get(self.roles_claim)), "jwt")


def _roles(value: object) -> frozenset[str]:
    if isinstance(value, str):
        items = value.replace(",", " ").split()
    elif isinstance(value, list):
        items = [v for v in value if isinstance(v, str)]
    else:
        items = []
    return frozenset(r for r in items if r)


__all__ = ["JwtConfigError", "JwtRejected", "JwtVerifier"]
