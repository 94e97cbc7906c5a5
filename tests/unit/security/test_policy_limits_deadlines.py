"""Authorisation helpers, service allow lists, rate limiter, deadline arithmetic, start-up
rules for open servers, settings from the environment."""

from __future__ import annotations

import time

import pytest

from libs.runtime.config import ServiceSettings, SettingsError, load_settings
from libs.security import (
    Identity,
    list_owner_filter,
    owner_for_create,
    require_owner_or_admin,
)
from libs.security.authz import (
    CHANNELZ_SERVICE,
    COMPUTER_SERVICE,
    INFERENCE_SERVICE,
    ServicePolicy,
)
from libs.security.deadlines import clamp_timeout, deadline_scope, remaining
from libs.security.identity import identity_scope
from libs.security.ratelimit import RateLimiter
from libs.security.runtime_hooks import SecurityConfigError, ServerSecurity, is_loopback
from libs.security.settings import SecuritySettings
from libs.status.errors import PermissionDenied

ALICE = Identity("alice", frozenset({"user"}), "token")
ROOT = Identity("root", frozenset({"user", "admin"}), "token")
WORKER = Identity("worker-1", frozenset({"worker"}), "jwt")


def test_owner_rules_for_users_admins_and_open_mode():
    with identity_scope(ALICE):
        require_owner_or_admin("alice")
        with pytest.raises(PermissionDenied, match="another user"):
            require_owner_or_admin("bob")
        with pytest.raises(PermissionDenied):
            require_owner_or_admin("")  # tasks created before auth was on belong to no one
        assert owner_for_create("") == "alice"
        assert owner_for_create("alice") == "alice"
        with pytest.raises(PermissionDenied, match="your own"):
            owner_for_create("bob")
        assert list_owner_filter("") == "alice"
        with pytest.raises(PermissionDenied):
            list_owner_filter("bob")
    with identity_scope(ROOT):
        require_owner_or_admin("bob")
        assert owner_for_create("bob") == "bob"
        assert list_owner_filter("") == ""
        assert list_owner_filter("bob") == "bob"
    with identity_scope(WORKER):
        assert owner_for_create("bob") == "bob"  # the worker may act for a user
        with pytest.raises(PermissionDenied):
            require_owner_or_admin("bob")
    # authentication off: everything allowed, as today
    require_owner_or_admin("bob")
    assert owner_for_create("bob") == "bob"
    assert list_owner_filter("bob") == "bob"


def test_service_policy_production_mode_and_extra_rules():
    prod = ServicePolicy(True)
    for service in (COMPUTER_SERVICE, INFERENCE_SERVICE):
        prod.check(service, WORKER)
        for who in (ALICE, ROOT):
            with pytest.raises(PermissionDenied, match="role worker"):
                prod.check(service, who)
    prod.check("bytebot.tasks.v1.TaskService", ALICE)
    dev = ServicePolicy(False)
    dev.check(COMPUTER_SERVICE, ALICE)
    # channelz is an operator's debug service: admin only, production mode or not
    for policy in (prod, dev):
        policy.check(CHANNELZ_SERVICE, ROOT)
        for who in (ALICE, WORKER):
            with pytest.raises(PermissionDenied, match="role admin"):
                policy.check(CHANNELZ_SERVICE, who)
    custom = ServicePolicy(False, {"bytebot.telemetry.v1.TelemetryService": ["admin"]})
    custom.check("bytebot.telemetry.v1.TelemetryService", ROOT)
    with pytest.raises(PermissionDenied):
        custom.check("bytebot.telemetry.v1.TelemetryService", ALICE)


def test_token_bucket_refills_and_is_per_key_and_bounded():
    now = [100.0]
    limiter = RateLimiter(2.0, 3, clock=lambda: now[0], max_keys=2)
    assert [limiter.acquire("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.acquire("a")
    assert wait == pytest.approx(0.5)
    assert limiter.acquire("b") == 0.0  # another caller has its own bucket
    now[0] += 0.5
    assert limiter.acquire("a") == 0.0
    assert limiter.acquire("a") > 0
    limiter.acquire("c")
    assert len(limiter) == 2  # LRU-bounded


def test_deadline_scope_only_shortens():
    assert remaining() is None
    assert clamp_timeout(5.0) == 5.0 and clamp_timeout(None) is None
    with deadline_scope(2.0):
        assert clamp_timeout(30.0) == pytest.approx(2.0, abs=0.05)
        assert clamp_timeout(1.0) == 1.0
        with deadline_scope(10.0):
            assert remaining() == pytest.approx(2.0, abs=0.05)
        assert clamp_timeout(None) == pytest.approx(2.0, abs=0.05)
    with deadline_scope(0.001):
        time.sleep(0.01)
        assert clamp_timeout(30.0) == 0.001  # already over: fail fast, never unbounded


def test_is_loopback():
    for host in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "", "10.0.0.1", "192.168.1.5"):
        assert not is_loopback(host), host


class Log:
    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, **kw: object) -> None:
        self.warnings.append(message)


def test_open_server_rules():
    open_settings = load_settings(ServiceSettings, {})
    security = ServerSecurity.from_settings(open_settings.security)
    log = Log()
    security.check_bind("127.0.0.1", log)
    assert log.warnings and "authentication is OFF" in log.warnings[0]
    with pytest.raises(SecurityConfigError, match="INSECURE_ALLOW_OPEN"):
        security.check_bind("0.0.0.0", log)
    allowed = ServerSecurity.from_settings(
        load_settings(ServiceSettings, {"insecure_allow_open": True}).security
    )
    allowed.check_bind("0.0.0.0", log)
    assert "non-loopback" in log.warnings[-1]


def _security(overrides: dict[str, object]) -> SecuritySettings:
    """A service's security settings (the `security` field) with these flat overrides."""
    return load_settings(ServiceSettings, overrides).security


def test_security_settings_from_environment_and_errors(tmp_path):
    env = {
        "BYTEBOT_AUTH_MODE": "token",
        "BYTEBOT_TOKENS_FILE": str(tmp_path / "tokens"),
        "BYTEBOT_PRODUCTION_MODE": "true",
        "BYTEBOT_RATE_LIMIT_PER_SECOND": "5",
        "BYTEBOT_SERVICE_ROLES": '{"x.Y": ["admin"]}',
    }
    # composed: the flat variables fill `settings.security`
    settings = load_settings(ServiceSettings, environ=env).security
    assert (settings.auth_mode, settings.production_mode) == ("token", True)
    assert settings.rate_limit_per_second == 5.0 and settings.service_roles == {"x.Y": ["admin"]}
    with pytest.raises(SecurityConfigError, match="cannot read tokens file"):
        ServerSecurity.from_settings(settings)  # the file does not exist
    with pytest.raises(SecurityConfigError, match="needs BYTEBOT_TOKENS_FILE"):
        ServerSecurity.from_settings(_security({"auth_mode": "token"}))
    with pytest.raises(SettingsError, match=r"BYTEBOT_AUTH_MODE.*not one of"):
        load_settings(ServiceSettings, {"auth_mode": "magic"})
    with pytest.raises(SecurityConfigError, match="go together"):
        ServerSecurity.from_settings(_security({"tls_cert_file": "/x"}))
    with pytest.raises(SecurityConfigError, match="cannot read the client token file"):
        ServerSecurity.from_settings(
            _security({"client_token_file": str(tmp_path / "nope")})
        )
    with pytest.raises(SecurityConfigError, match="cannot read TLS CA bundle"):
        ServerSecurity.from_settings(
            _security({"tls_ca_file": str(tmp_path / "nope.pem")})
        )
    with pytest.raises(SettingsError, match="BYTEBOT_PRODUCTION_MODE"):
        load_settings(ServiceSettings, environ={"BYTEBOT_PRODUCTION_MODE": "perhaps"})
