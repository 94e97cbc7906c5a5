from __future__ import annotations

import enum
from dataclasses import dataclass, field

import pytest

from libs.runtime.config import (
    ServiceSettings,
    SettingsError,
    load_settings,
    package_version,
    parse_assignments,
)


class Backend(enum.Enum):
    CPU = "cpu"
    COREML = "coreml"


@dataclass
class DemoSettings(ServiceSettings):
    grpc_port: int = 50053
    display: str | None = None
    workers: int = 2
    ratio: float = 0.5
    headless: bool = False
    tags: list[str] = field(default_factory=list)
    limits: dict[str, int] = field(default_factory=dict)
    backend: Backend = Backend.CPU


def test_defaults_without_environment():
    s = load_settings(DemoSettings, environ={})
    assert (s.grpc_host, s.grpc_port, s.http_port) == ("127.0.0.1", 50053, 9464)
    assert s.display is None and s.tags == [] and s.backend is Backend.CPU
    assert s.version == package_version()
    assert s.shutdown_grace_seconds == 10.0


def test_environment_is_typed_by_annotations():
    env = {
        "BYTEBOT_GRPC_PORT": "6000",
        "BYTEBOT_DISPLAY": ":99",
        "BYTEBOT_WORKERS": "8",
        "BYTEBOT_RATIO": "0.25",
        "BYTEBOT_HEADLESS": "yes",
        "BYTEBOT_TAGS": "a, b,,c",
        "BYTEBOT_LIMITS": '{"x": 1}',
        "BYTEBOT_BACKEND": "coreml",
        "BYTEBOT_LOG_DIR": "/tmp/logs",
        "BYTEBOT_UNRELATED_THING": "ignored",
    }
    s = load_settings(DemoSettings, environ=env)
    assert s.grpc_port == 6000 and s.display == ":99" and s.workers == 8
    assert s.ratio == 0.25 and s.headless is True
    assert s.tags == ["a", "b", "c"] and s.limits == {"x": 1}
    assert s.backend is Backend.COREML and s.log_dir == "/tmp/logs"


def test_optional_empty_means_none_and_bool_false_words():
    s = load_settings(DemoSettings, environ={"BYTEBOT_DISPLAY": "", "BYTEBOT_HEADLESS": "off"})
    assert s.display is None and s.headless is False


def test_overrides_win_over_environment_and_accept_text_or_typed_values():
    env = {"BYTEBOT_GRPC_PORT": "6000", "BYTEBOT_WORKERS": "3"}
    s = load_settings(DemoSettings, {"grpc_port": 0, "workers": "5", "ratio": 1}, environ=env)
    assert s.grpc_port == 0 and s.workers == 5 and s.ratio == 1.0 and isinstance(s.ratio, float)
    s = load_settings(DemoSettings, {"log-level": "debug"}, environ={})
    assert s.log_level == "debug"


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("BYTEBOT_GRPC_PORT", "abc", "expected an integer"),
        ("BYTEBOT_RATIO", "fast", "expected a number"),
        ("BYTEBOT_HEADLESS", "maybe", "expected a boolean"),
        ("BYTEBOT_LIMITS", "{nope", "expected a JSON object"),
        ("BYTEBOT_LIMITS", "[1]", "expected a JSON object"),
        ("BYTEBOT_BACKEND", "gpu", "expected one of"),
        ("BYTEBOT_HTTP_PORT", "70000", "between 0 and 65535"),
        ("BYTEBOT_HEALTH_CHECK_INTERVAL_SECONDS", "0", "must be > 0"),
    ],
)
def test_bad_environment_value_names_the_variable(var, value, expected):
    with pytest.raises(SettingsError) as info:
        load_settings(DemoSettings, environ={var: value})
    assert var in str(info.value) and expected in str(info.value)


def test_unknown_or_bad_override_is_a_clear_error():
    with pytest.raises(SettingsError, match="unknown setting 'grpc_prot'"):
        load_settings(DemoSettings, {"grpc_prot": 1}, environ={})
    with pytest.raises(SettingsError, match="setting workers"):
        load_settings(DemoSettings, {"workers": "many"}, environ={})
    with pytest.raises(SettingsError, match="expected an integer, got a boolean"):
        load_settings(DemoSettings, {"workers": True}, environ={})


def test_string_annotations_resolve():
    # this module uses `from __future__ import annotations`: the fields' types are strings
    assert isinstance(DemoSettings.__annotations__["workers"], str)
    assert load_settings(DemoSettings, environ={"BYTEBOT_WORKERS": "4"}).workers == 4


def test_parse_assignments():
    assert parse_assignments(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(SettingsError, match="expected key=value"):
        parse_assignments(["novalue"])
