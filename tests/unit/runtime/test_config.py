"""Settings on pydantic-settings (libs/env_settings.py, libs/runtime/config.py): typed reading
of BYTEBOT_* variables, one error type naming the variable and the value, the security
settings composed as a field with flat variable names."""

from __future__ import annotations

import enum
from typing import Annotated, Literal

import pytest
from pydantic import Field

from libs.env_settings import CommaList, Folded, Interval, JsonObject, Port, PositiveInt, Seconds
from libs.runtime.config import (
    ServiceSettings,
    SettingsError,
    load_settings,
    package_version,
    parse_assignments,
)
from libs.security.settings import SecuritySettings
from services.telemetry.config import TelemetrySettings


class Backend(enum.Enum):
    CPU = "cpu"
    COREML = "coreml"


class DemoSettings(ServiceSettings):
    grpc_port: Port = 50053
    display: str | None = None
    workers: PositiveInt = 2
    ratio: float = 0.5
    pause_seconds: Seconds = 0.0
    every_seconds: Interval = 1.0
    headless: bool = False
    mode: Annotated[Literal["fast", "slow"], Folded] = "fast"
    tags: CommaList[str] = Field(default_factory=list)
    limits: JsonObject[int] = Field(default_factory=dict)
    backend: Backend = Backend.CPU


def test_defaults_without_environment():
    s = load_settings(DemoSettings, environ={})
    assert (s.grpc_host, s.grpc_port, s.http_port) == ("127.0.0.1", 50053, 0)
    assert s.display is None and s.tags == [] and s.backend is Backend.CPU
    assert s.version == package_version()
    assert s.shutdown_grace_seconds == 10.0
    assert s.security.model_dump() == SecuritySettings.model_construct().model_dump()
    assert s.security.auth_mode == "none" and s.security.rate_limit_exempt_roles == ["worker"]


def test_environment_is_typed_by_annotations():
    env = {
        "BYTEBOT_GRPC_PORT": "6000",
        "BYTEBOT_DISPLAY": ":99",
        "BYTEBOT_WORKERS": "8",
        "BYTEBOT_RATIO": "0.25",
        "BYTEBOT_HEADLESS": "yes",
        "BYTEBOT_MODE": " SLOW ",
        "BYTEBOT_TAGS": "a, b,,c",
        "BYTEBOT_LIMITS": '{"x": 1}',
        "BYTEBOT_BACKEND": "coreml",
        "BYTEBOT_LOG_DIR": "/tmp/logs",
        "BYTEBOT_LOG_LEVEL": "DEBUG",
        "BYTEBOT_UNRELATED_THING": "ignored",
    }
    s = load_settings(DemoSettings, environ=env)
    assert s.grpc_port == 6000 and s.display == ":99" and s.workers == 8
    assert s.ratio == 0.25 and s.headless is True and s.mode == "slow"
    assert s.tags == ["a", "b", "c"] and s.limits == {"x": 1}
    assert s.backend is Backend.COREML and s.log_dir == "/tmp/logs" and s.log_level == "debug"
    assert load_settings(DemoSettings, environ={"BYTEBOT_TAGS": '["x", "y"]'}).tags == ["x", "y"]


def test_empty_variable_is_unset_and_bool_words():
    s = load_settings(DemoSettings, environ={"BYTEBOT_DISPLAY": "", "BYTEBOT_WORKERS": "",
                                             "BYTEBOT_HEADLESS": "off"})
    assert s.display is None and s.workers == 2 and s.headless is False
    for word in ("1", "true", "On", "Y"):
        assert load_settings(DemoSettings, environ={"BYTEBOT_HEADLESS": word}).headless is True


def test_overrides_win_over_environment_and_accept_text_or_typed_values():
    env = {"BYTEBOT_GRPC_PORT": "6000", "BYTEBOT_WORKERS": "3"}
    s = load_settings(DemoSettings, {"grpc_port": 0, "workers": "5", "ratio": 1}, environ=env)
    assert s.grpc_port == 0 and s.workers == 5 and s.ratio == 1.0 and isinstance(s.ratio, float)
    s = load_settings(DemoSettings, {"log-level": "warning", "tags": "p,q"}, environ={})
    assert s.log_level == "warning" and s.tags == ["p", "q"]


# --- one error type, naming the variable and the value ------------------------------------

BAD_VALUES = [
    # (variable, value, reason): one row per kind of field
    ("BYTEBOT_GRPC_PORT", "abc", "not an integer"),
    ("BYTEBOT_HTTP_PORT", "70000", "must be <= 65535"),
    ("BYTEBOT_GRPC_PORT", "-1", "must be >= 0"),
    ("BYTEBOT_RATIO", "fast", "not a number"),
    ("BYTEBOT_HEADLESS", "maybe", "not a boolean"),
    ("BYTEBOT_MODE", "medium", "not one of 'fast' or 'slow'"),
    ("BYTEBOT_BACKEND", "gpu", "not one of 'cpu' or 'coreml'"),
    ("BYTEBOT_LIMITS", "{nope", "not a JSON object"),
    ("BYTEBOT_LIMITS", "[1]", "not a JSON object"),
    ("BYTEBOT_LIMITS", '{"x": "many"}', "['x']: not an integer"),
    ("BYTEBOT_TAGS", "[1, 2", "not a JSON list"),
    ("BYTEBOT_WORKERS", "0", "must be >= 1"),
    ("BYTEBOT_PAUSE_SECONDS", "-0.5", "must be >= 0"),
    ("BYTEBOT_EVERY_SECONDS", "0", "must be > 0"),
    ("BYTEBOT_HEALTH_CHECK_INTERVAL_SECONDS", "0", "must be > 0"),
    ("BYTEBOT_LOG_LEVEL", "loud", "not one of 'debug'"),
    # the composed security settings, read from their flat names
    ("BYTEBOT_AUTH_MODE", "magic", "not one of 'none', 'token', 'jwt' or 'token+jwt'"),
    ("BYTEBOT_RATE_LIMIT_BURST", "-1", "must be >= 0"),
    ("BYTEBOT_PRODUCTION_MODE", "perhaps", "not a boolean"),
    ("BYTEBOT_SERVICE_ROLES", '{"x.Y": "admin"}', "['x.Y']: not a list"),
]


@pytest.mark.parametrize(("var", "value", "reason"), BAD_VALUES)
def test_bad_environment_value_is_one_error_naming_variable_and_value(var, value, reason):
    with pytest.raises(SettingsError) as info:
        load_settings(DemoSettings, environ={var: value})
    assert info.type is SettingsError  # not pydantic's ValidationError, which is a ValueError too
    assert str(info.value).startswith(f"{var}={value!r}: "), str(info.value)
    assert reason in str(info.value)


def test_the_message_of_the_issue_exactly():
    with pytest.raises(SettingsError) as info:
        load_settings(ServiceSettings, environ={"BYTEBOT_GRPC_PORT": "abc"})
    assert str(info.value) == "BYTEBOT_GRPC_PORT='abc': not an integer"


def test_every_bad_field_is_reported_at_once():
    env = {"BYTEBOT_GRPC_PORT": "abc", "BYTEBOT_RATIO": "x"}
    with pytest.raises(SettingsError) as info:
        load_settings(DemoSettings, environ=env)
    assert "BYTEBOT_GRPC_PORT='abc'" in str(info.value) and "BYTEBOT_RATIO='x'" in str(info.value)


def test_bad_override_names_the_setting_and_its_variable():
    with pytest.raises(SettingsError) as info:
        load_settings(DemoSettings, {"grpc_port": 70000}, environ={})
    assert str(info.value) == "grpc_port=70000 (overriding BYTEBOT_GRPC_PORT): must be <= 65535"
    with pytest.raises(SettingsError, match=r"workers='many' \(overriding BYTEBOT_WORKERS\)"):
        load_settings(DemoSettings, {"workers": "many"}, environ={})
    with pytest.raises(SettingsError, match=r"auth_mode='magic' .*BYTEBOT_AUTH_MODE"):
        load_settings(DemoSettings, {"auth_mode": "magic"}, environ={})


def test_unknown_override_is_a_clear_error():
    with pytest.raises(SettingsError, match="unknown setting 'grpc_prot' for DemoSettings"):
        load_settings(DemoSettings, {"grpc_prot": 1}, environ={})


def test_telemetry_fleet_constraints():
    with pytest.raises(SettingsError, match=r"BYTEBOT_SERVICES='\{\}': needs at least 1"):
        load_settings(TelemetrySettings, environ={"BYTEBOT_SERVICES": "{}"})
    with pytest.raises(SettingsError, match=r"\['a'\]: .*at least 1"):
        load_settings(TelemetrySettings, environ={"BYTEBOT_SERVICES": '{"a": ""}'})
    with pytest.raises(SettingsError, match="BYTEBOT_EVENTS_BURST='0': must be >= 1"):
        load_settings(TelemetrySettings, environ={"BYTEBOT_EVENTS_BURST": "0"})


# --- composition: security settings are a field, read from the flat names -------------------


def test_security_is_a_field_not_a_base_class():
    assert not issubclass(ServiceSettings, SecuritySettings)
    assert "auth_mode" not in ServiceSettings.model_fields
    assert ServiceSettings.model_fields["security"].annotation is SecuritySettings


def test_a_field_shadowing_a_security_field_is_refused():
    class Clash(ServiceSettings):
        auth_mode: str = "mine"  # would be BYTEBOT_AUTH_MODE twice

    with pytest.raises(TypeError, match=r"\['auth_mode'\]: one BYTEBOT_ variable, two fields"):
        load_settings(Clash, environ={})


def test_the_security_field_also_takes_a_mapping():
    s = load_settings(DemoSettings, {"security": {"auth_mode": "jwt", "jwt_issuer": "me"},
                                     "jwt_issuer": "flat"}, environ={})
    assert (s.security.auth_mode, s.security.jwt_issuer) == ("jwt", "flat")


def test_nested_security_reads_the_flat_variables():
    env = {
        "BYTEBOT_AUTH_MODE": "Token",
        "BYTEBOT_TOKENS_FILE": "/run/secrets/tokens",
        "BYTEBOT_RATE_LIMIT_PER_SECOND": "5",
        "BYTEBOT_RATE_LIMIT_EXEMPT_ROLES": "worker,admin",
        "BYTEBOT_SERVICE_ROLES": '{"x.Y": ["admin"]}',
        "BYTEBOT_TLS_CERT_FILE": "/tls/crt",
        "BYTEBOT_CLIENT_TLS": "true",
        # the nested-delimiter spelling is not ours: ignored
        "BYTEBOT_SECURITY__PRODUCTION_MODE": "true",
    }
    security = load_settings(ServiceSettings, environ=env).security
    assert security.auth_mode == "token" and security.tokens_file == "/run/secrets/tokens"
    assert security.rate_limit_per_second == 5.0
    assert security.rate_limit_exempt_roles == ["worker", "admin"]
    assert security.service_roles == {"x.Y": ["admin"]}
    assert security.tls_cert_file == "/tls/crt" and security.client_tls is True
    assert security.production_mode is False


def test_flat_overrides_reach_the_nested_settings_and_keep_the_environment():
    env = {"BYTEBOT_TLS_CERT_FILE": "/tls/crt", "BYTEBOT_AUTH_MODE": "jwt"}
    security = load_settings(ServiceSettings, {"auth_mode": "token"}, environ=env).security
    assert (security.auth_mode, security.tls_cert_file) == ("token", "/tls/crt")


def test_given_environ_is_the_only_one_read(monkeypatch):
    monkeypatch.setenv("BYTEBOT_AUTH_MODE", "jwt")
    monkeypatch.setenv("BYTEBOT_GRPC_PORT", "7000")
    s = load_settings(DemoSettings, environ={})
    assert (s.security.auth_mode, s.grpc_port) == ("none", 50053)
    # the default environ is the process's, nested settings included
    s = load_settings(DemoSettings)
    assert (s.security.auth_mode, s.grpc_port) == ("jwt", 7000)
    # plain construction is pydantic-settings' own: it reads the process environment too
    assert (DemoSettings().security.auth_mode, SecuritySettings().auth_mode) == ("jwt", "jwt")


def test_parse_assignments():
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(SettingsError, match="expected key=value"):
        parse_assignments(["novalue"])
