"""The base of every settings class: pydantic-settings, `BYTEBOT_<FIELD>` environment
variables, one way to validate (field constraints and types), one error (`SettingsError`).

    class ComputerSettings(ServiceSettings):          # libs.runtime.config
        display: str | None = None
        png_compress_level: Annotated[int, Field(ge=0, le=9)] = 1

Reading rules (the same for every field of every service):
- an empty variable counts as unset (the field keeps its default);
- int/float/bool/str/`X | None`/`Literal[...]`/enums are pydantic's own string parsing
  (booleans: true/false, 1/0, yes/no, on/off, t/f, y/n; any case);
- `CommaList[T]`: `a,b,c` or a JSON list; `JsonObject[T]`: a JSON object — pydantic-settings'
  own JSON decoding is off (`enable_decoding=False`) so that a bad value is reported by the
  same validation, with the same message shape, as every other field;
- `Folded` on a `Literal` of lowercase modes accepts any case and surrounding spaces.

Any bad value becomes `SettingsError` naming the variable and the value as given:
`BYTEBOT_GRPC_PORT='abc': not an integer`.

This module imports neither `libs.runtime` nor `libs.security`: both build on it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

ENV_PREFIX = "BYTEBOT_"

T = TypeVar("T")


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


def env_name(field_name: str) -> str:
    return ENV_PREFIX + field_name.upper()


# --- field types ---------------------------------------------------------------------------


def _fold(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _comma_list(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list ({exc.msg})") from None
    return [part.strip() for part in text.split(",") if part.strip()]


def _json_object(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        decoded = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not a JSON object ({exc.msg})") from None
    if not isinstance(decoded, dict):
        raise ValueError("not a JSON object")
    return decoded


Folded = BeforeValidator(_fold)
CommaList = Annotated[list[T], NoDecode, BeforeValidator(_comma_list)]
JsonObject = Annotated[dict[str, T], NoDecode, BeforeValidator(_json_object)]
# 0 is a free port chosen by the OS (tests, `bytebot serve pkg:ENTRY` without a registry entry)
Port = Annotated[int, Field(ge=0, le=65535)]
Seconds = Annotated[float, Field(ge=0)]  # a delay or grace period; 0 is "none"
Interval = Annotated[float, Field(gt=0)]  # something happens every this long: never 0
PositiveInt = Annotated[int, Field(ge=1)]
NonNegativeInt = Annotated[int, Field(ge=0)]


# --- reading -------------------------------------------------------------------------------


class EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (os.environ by default),
    so `load_settings(..., environ={...})` is exact for tests and subprocess setups."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        # what pydantic-settings does to os.environ: names case-insensitive, "" is unset
        self.env_vars = {k.lower(): v for k, v in environ.items() if v != ""}


class EnvSettings(BaseSettings):
    """Defaults, then `BYTEBOT_<FIELD>` variables, then keyword arguments. No .env files and
    no secrets directory: a Kubernetes Secret is mounted as a file a `*_file` field names."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        enable_decoding=False,
        extra="forbid",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, EnvironSource(settings_cls, os.environ)


E = TypeVar("E", bound=EnvSettings)


def nested_settings(cls: type[EnvSettings]) -> dict[str, type[EnvSettings]]:
    """Fields holding another settings class (composition, e.g. `security`): their own
    fields keep flat names (BYTEBOT_AUTH_MODE, not BYTEBOT_SECURITY__AUTH_MODE)."""
    return {
        name: info.annotation
        for name, info in cls.model_fields.items()
        if isinstance(info.annotation, type) and issubclass(info.annotation, EnvSettings)
    }


def field_names(cls: type[EnvSettings]) -> set[str]:
    """Every setting name of `cls`, nested settings' fields included (flat). A name in two
    places would be one variable for two fields: refused."""
    names = set(cls.model_fields)
    for nested in nested_settings(cls).values():
        inner = field_names(nested)
        if names & inner:
            raise TypeError(f"{cls.__name__} and its {nested.__name__} both have "
                            f"{sorted(names & inner)}: one BYTEBOT_ variable, two fields")
        names |= inner
    return names


def build(cls: type[E], values: Mapping[str, Any], environ: Mapping[str, str]) -> E:
    """`cls` from `environ` and `values` (flat names; nested settings' fields are routed to
    their own class, built from the same `environ`). Raises pydantic's ValidationError."""
    own = {k: v for k, v in values.items() if k in cls.model_fields}
    for name, nested in nested_settings(cls).items():
        given = own.get(name)
        if not isinstance(given, nested):
            # a dict for the field itself and flat names both count; flat ones win
            mine = field_names(nested)
            flat = {k: v for k, v in values.items() if k in mine}
            own[name] = build(nested, {**(given or {}), **flat}, environ)
    sources = (InitSettingsSource(cls, own), EnvironSource(cls, environ))
    return cls(_build_sources=(sources, own))


# --- the one error -------------------------------------------------------------------------

_REASONS = {
    "int_parsing": "not an integer",
    "int_type": "not an integer",
    "int_from_float": "not an integer",
    "float_parsing": "not a number",
    "float_type": "not a number",
    "bool_parsing": "not a boolean (true/false, 1/0, yes/no, on/off)",
    "bool_type": "not a boolean (true/false, 1/0, yes/no, on/off)",
    "string_type": "not a string",
    "dict_type": "not a JSON object",
    "list_type": "not a list (a,b,c or a JSON list)",
    "missing": "required",
}
_BOUNDS = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
           "less_than_equal": "<="}


def _reason(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _REASONS:
        return _REASONS[kind]
    if kind in _BOUNDS:
        bound = next(iter(ctx.values()), "?")
        return f"must be {_BOUNDS[kind]} {bound}"
    if kind in ("literal_error", "enum"):
        return f"not one of {ctx.get('expected', '?')}"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length', 1)} item(s)"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"]).lower()


def describe(
    exc: ValidationError, overrides: Mapping[str, Any], environ: Mapping[str, str]
) -> SettingsError:
    """The one error: every bad field, named by its variable, with the value as given."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        name = str(loc[0]) if loc else "?"
        var = env_name(name)
        reason = _reason(error)
        if len(loc) > 1:  # an item of a list or a JSON object
            reason = "".join(f"[{part!r}]" for part in loc[1:]) + f": {reason}"
        if name in overrides:
            lines.append(f"{name}={overrides[name]!r} (overriding {var}): {reason}")
        elif var in environ:
            lines.append(f"{var}={environ[var]!r}: {reason}")
        else:  # a default that does not validate: a bug of the settings class itself
            lines.append(f"{var} (default {error.get('input')!r}): {reason}")
    return SettingsError("; ".join(lines))


def load(
    cls: type[E],
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> E:
    """Defaults, then `BYTEBOT_<FIELD>` variables of `environ`, then `overrides` (flat
    names, `-` or `_`); SettingsError for an unknown name or a bad value."""
    known = field_names(cls)
    values: dict[str, Any] = {}
    for name, value in (overrides or {}).items():
        key = name.replace("-", "_")
        if key not in known:
            raise SettingsError(
                f"unknown setting {name!r} for {cls.__name__}; known: {', '.join(sorted(known))}"
            )
        values[key] = value
    try:
        return build(cls, values, environ)
    except ValidationError as exc:
        raise describe(exc, values, environ) from None


__all__ = [
    "ENV_PREFIX",
    "CommaList",
    "EnvSettings",
    "EnvironSource",
    "Folded",
    "Interval",
    "JsonObject",
    "NonNegativeInt",
    "Port",
    "PositiveInt",
    "Seconds",
    "SettingsError",
    "build",
    "describe",
    "env_name",
    "field_names",
    "load",
    "nested_settings",
]
