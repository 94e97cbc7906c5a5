"""Static token file (hashed) and JWT verification (HS256/RS256, iss/aud/exp/nbf)."""

from __future__ import annotations

import os
import time

import jwt as pyjwt
import pytest

from libs.security.authn import Authenticator, bearer_token
from libs.security.jwt_auth import JwtConfigError, JwtRejected, JwtVerifier
from libs.security.tokens import TokenFileError, TokenStore, hash_token, parse_tokens
from libs.status.errors import Unauthenticated
from tests.integration.security.material import (
    AUDIENCE,
    HS256_SECRET,
    ISSUER,
    TOKENS,
    make_jwt,
    make_rsa,
    write_tokens_file,
)


def test_tokens_file_holds_hashes_only_and_maps_to_identities(tmp_path):
    path = write_tokens_file(tmp_path / "tokens")
    text = path.read_text()
    for token, _ in TOKENS.values():
        assert token not in text
        assert hash_token(token) in text
    store = TokenStore(str(path))
    alice = store.lookup(TOKENS["alice"][0])
    assert alice is not None and alice.subject == "alice" and alice.roles == {"user"}
    assert alice.kind == "token"
    root = store.lookup(TOKENS["root"][0])
    assert root is not None and root.roles == {"user", "admin"}
    assert store.lookup("not-a-token") is None
    assert store.lookup(hash_token(TOKENS["alice"][0])) is None  # the hash is not the token
    assert TOKENS["alice"][0] not in repr(alice)


def test_tokens_file_is_reloaded_when_it_changes(tmp_path, monkeypatch):
    path = write_tokens_file(tmp_path / "tokens", {"alice": ("t-one", "user")})
    store = TokenStore(str(path))
    assert store.lookup("t-one") is not None
    write_tokens_file(path, {"alice": ("t-two", "user")})
    os.utime(path, (time.time() + 5, time.time() + 5))
    monkeypatch.setattr("libs.security.tokens._RELOAD_CHECK_SECONDS", 0.0)
    assert store.lookup("t-two") is not None
    assert store.lookup("t-one") is None
    # a broken rewrite keeps the last good set instead of locking everyone out
    path.write_text("garbage line\n")
    os.utime(path, (time.time() + 10, time.time() + 10))
    assert store.lookup("t-two") is not None


@pytest.mark.parametrize(
    "line, reason",
    [
        ("plain-token alice user", "only sha256"),
        ("sha256:abc alice user", "64 hex"),
        ("sha256:" + "0" * 64, "expected"),
    ],
)
def test_bad_token_lines_name_file_and_line(line, reason):
    with pytest.raises(TokenFileError, match=reason) as info:
        parse_tokens("# ok\n" + line, "tokens.txt")
    assert "tokens.txt:2" in str(info.value)


def test_missing_tokens_file_is_a_clear_error(tmp_path):
    with pytest.raises(TokenFileError, match="cannot read tokens file"):
        TokenStore(str(tmp_path / "absent"))


@pytest.mark.parametrize(
    "metadata, message",
    [
        ((), "missing credentials"),
        ((("authorization", "Basic abc"),), "malformed"),
        ((("authorization", "Bearer "),), "malformed"),
        ((("authorization", "Bearer a"), ("authorization", "Bearer b")), "more than one"),
        ((("authorization", "Bearer " + "x" * 9000),), "too long"),
    ],
)
def test_bearer_header_errors(metadata, message):
    with pytest.raises(Unauthenticated, match=message):
        bearer_token(metadata)


def hs_verifier(**kw):
    return JwtVerifier(
        hs256_secret=HS256_SECRET.encode(), issuer=ISSUER, audience=AUDIENCE, leeway_seconds=5, **kw
    )


def test_hs256_jwt_gives_subject_and_roles():
    identity = hs_verifier().verify(make_jwt("carol", ["user", "admin"]))
    assert (identity.subject, identity.roles, identity.kind) == ("carol", {"user", "admin"}, "jwt")
    assert hs_verifier().verify(make_jwt("dave", "worker user")).roles == {"worker", "user"}


def test_rs256_jwt_and_no_algorithm_confusion():
    keys = make_rsa()
    verifier = JwtVerifier(
        rs256_public_key=keys.public_pem, issuer=ISSUER, audience=AUDIENCE, leeway_seconds=5
    )
    token = make_jwt("erin", ["worker"], key=keys.private_pem, algorithm="RS256")
    assert verifier.verify(token).subject == "erin"
    # HS256 token signed with the *public key* as HMAC secret: the classic confusion attack
    forged = pyjwt.api_jws.PyJWS().encode(
        b'{"sub":"mallory","exp":9999999999,"iss":"%s","aud":"%s"}' % (ISSUER.encode(),
                                                                      AUDIENCE.encode()),
        key=b"x" * 32, algorithm="HS256",
    )
    with pytest.raises(JwtRejected, match="not accepted"):
        verifier.verify(forged)
    unsigned = pyjwt.encode({"sub": "mallory", "exp": 9999999999}, None, algorithm="none")
    with pytest.raises(JwtRejected, match="not accepted"):
        verifier.verify(unsigned)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"expires_in": -60}, "token expired"),
        ({"not_before_in": 120}, "not yet valid"),
        ({"issuer": "https://evil.test"}, "wrong issuer"),
        ({"audience": "other-api"}, "wrong audience"),
        ({"issuer": None}, "missing claim 'iss'"),
        ({"audience": None}, "missing claim 'aud'"),
        ({"key": "another-secret-that-is-long-enough-000000"}, "bad signature"),
    ],
)
def test_jwt_rejections(kwargs, message):
    with pytest.raises(JwtRejected, match=message):
        hs_verifier().verify(make_jwt("carol", ["user"], **kwargs))


def test_jwt_leeway_accepts_small_clock_skew():
    assert hs_verifier().verify(make_jwt("carol", expires_in=-2)).subject == "carol"
    assert hs_verifier().verify(make_jwt("carol", not_before_in=2)).subject == "carol"


def test_jwt_config_errors(tmp_path):
    with pytest.raises(JwtConfigError, match="needs"):
        JwtVerifier.from_files(None, None)
    short = tmp_path / "short"
    short.write_text("tooshort")
    with pytest.raises(JwtConfigError, match="at least 32"):
        JwtVerifier.from_files(str(short), None)
    bad_pem = tmp_path / "pub.pem"
    bad_pem.write_text("not a key")
    with pytest.raises(JwtConfigError, match="RSA PEM"):
        JwtVerifier.from_files(None, str(bad_pem))


def test_token_plus_jwt_mode_routes_by_shape(tmp_path):
    tokens = TokenStore(str(write_tokens_file(tmp_path / "tokens")))
    auth = Authenticator("token+jwt", tokens, hs_verifier())
    md = (("authorization", f"Bearer {TOKENS['bob'][0]}"),)
    assert auth.authenticate(md).subject == "bob"
    md = (("authorization", f"Bearer {make_jwt('carol')}"),)
    assert auth.authenticate(md).subject == "carol"
    with pytest.raises(Unauthenticated, match="token expired"):
        auth.authenticate((("authorization", f"Bearer {make_jwt('carol', expires_in=-99)}"),))
    with pytest.raises(Unauthenticated, match="invalid token"):
        auth.authenticate((("authorization", "Bearer nope"),))
