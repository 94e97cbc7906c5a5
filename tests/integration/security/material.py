"""Key material made in the test: a CA with server and client certificates (cryptography),
static token files, HS256/RS256 JWTs. Nothing is checked in."""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from libs.security.tokens import token_line

HS256_SECRET = "test-hs256-secret-that-is-long-enough-0123456789"
ISSUER = "https://auth.bytebot.test"
AUDIENCE = "bytebot-api"


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: Any) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    rogue_client_cert: Path
    rogue_client_key: Path


def _ca(cn: str) -> tuple[Any, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True,
                crl_sign=True, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(ca_key: Any, ca_cert: x509.Certificate, cn: str, server: bool) -> tuple[Any, Any]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    )
    if server:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return key, builder.sign(ca_key, hashes.SHA256())


def make_pki(directory: Path) -> Pki:
    ca_key, ca_cert = _ca("bytebot test CA")
    other_key, other_cert = _ca("someone else's CA")
    server_key, server_cert = _leaf(ca_key, ca_cert, "computer.bytebot.test", True)
    client_key, client_cert = _leaf(ca_key, ca_cert, "tasks-worker", False)
    rogue_key, rogue_cert = _leaf(other_key, other_cert, "rogue", False)

    def write(name: str, data: bytes) -> Path:
        path = directory / name
        path.write_bytes(data)
        return path

    pem = serialization.Encoding.PEM
    return Pki(
        ca=write("ca.pem", ca_cert.public_bytes(pem)),
        server_cert=write("server.pem", server_cert.public_bytes(pem)),
        server_key=write("server.key", _pem_key(server_key)),
        client_cert=write("client.pem", client_cert.public_bytes(pem)),
        client_key=write("client.key", _pem_key(client_key)),
        other_ca=write("other-ca.pem", other_cert.public_bytes(pem)),
        rogue_client_cert=write("rogue.pem", rogue_cert.public_bytes(pem)),
        rogue_client_key=write("rogue.key", _pem_key(rogue_key)),
    )


# Distinctive, so the secrets test can search for them.
TOKENS = {
    "alice": ("tok-ALICE-9f1c2b7e5d4a3c2b1a0f9e8d7c6b5a49", "user"),
    "bob": ("tok-BOB-1a2b3c4d5e6f708192a3b4c5d6e7f809", "user"),
    "root": ("tok-ROOT-aa55aa55aa55aa55aa55aa55aa55aa55", "user,admin"),
    "worker-1": ("tok-WORKER-0f0e0d0c0b0a09080706050403020100", "worker"),
}


def write_tokens_file(path: Path, tokens: dict[str, tuple[str, str]] = TOKENS) -> Path:
    lines = ["# subject tokens (sha256 of the token, never the token)"]
    lines += [token_line(token, subject, roles) for subject, (token, roles) in tokens.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def bearer(subject: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {TOKENS[subject][0]}"),)


@dataclass
class RsaKeys:
    private_pem: bytes
    public_pem: bytes


def make_rsa() -> RsaKeys:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return RsaKeys(
        _pem_key(key),
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
    )


def make_jwt(
    subject: str = "carol",
    roles: list[str] | str | None = None,
    *,
    key: str | bytes = HS256_SECRET,
    algorithm: str = "HS256",
    issuer: str | None = ISSUER,
    audience: str | None = AUDIENCE,
    expires_in: float = 300,
    not_before_in: float | None = None,
    **extra: Any,
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "iat": now, "exp": now + int(expires_in), **extra}
    if roles is not None:
        claims["roles"] = roles
    if issuer is not None:
        claims["iss"] = issuer
    if audience is not None:
        claims["aud"] = audience
    if not_before_in is not None:
        claims["nbf"] = now + int(not_before_in)
    return jwt.encode(claims, key, algorithm=algorithm)
