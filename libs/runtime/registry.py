"""The service registry: the one place a service is registered.

Each service is ONE line of pyproject.toml,

    [project.entry-points."bytebot.services"]
    computer = "services.computer.config:SERVICE"

pointing at a small `ServiceDefinition` beside the service's settings (its name, default
ports, the gRPC service names read from the generated descriptors, the import path of its
`ServiceEntry`, its Prometheus job). Everything that used to repeat those facts derives from
here: `bytebot serve <name>` (libs.runtime.cli), `bytebot up` and `--only`
(libs.stack.layout), the local Prometheus jobs (libs.stack.prometheus) and the CLIs' default
targets.

Where the entries come from: `importlib.metadata.entry_points(group="bytebot.services")` —
the editable install writes them, and any other installed distribution may add its own. When
this project's own distribution is not installed (Bazel runs the sources without the
editable install), the same table is read from pyproject.toml with tomllib, so the table
stays the one source of truth. The definitions are imported only when asked for
(`definition(name)` imports just that service's config module), so `bytebot serve computer`
still never imports the tasks database code.
"""

from __future__ import annotations

import functools
import importlib
import tomllib
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

GROUP = "bytebot.services"
DISTRIBUTION = "bytebot-backend"
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


class RegistryError(Exception):
    """A registration that cannot be used (bad path, wrong type, name mismatch)."""


@dataclass(frozen=True)
class ServiceDefinition:
    name: str
    # defaults of the local stack (`bytebot up` shifts them by --ports-offset)
    grpc_port: int
    http_port: int
    # "package.module:ATTRIBUTE" of the ServiceEntry `bytebot serve` runs; a string so that
    # reading the registry does not import the service's code
    entry: str
    # full names of the gRPC services it serves, from the generated descriptors
    # (`x_pb2.DESCRIPTOR.services_by_name["XService"].full_name`), never typed again
    grpc_services: tuple[str, ...] = ()
    # job name in deploy/prometheus (prometheus.yml / prometheus.local.yml); "" = bytebot-<name>
    prometheus_job: str = ""
    # environment variable people set to point a CLI at it; "" = BYTEBOT_<NAME>_ADDRESS
    address_env: str = ""

    @property
    def job(self) -> str:
        return self.prometheus_job or f"bytebot-{self.name}"

    @property
    def address_variable(self) -> str:
        return self.address_env or f"BYTEBOT_{self.name.upper().replace('-', '_')}_ADDRESS"

    def grpc_target(self, host: str = "127.0.0.1", offset: int = 0) -> str:
        return f"{host}:{self.grpc_port + offset}"


def _pyproject_table(path: Path = PYPROJECT) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    return dict(data.get("project", {}).get("entry-points", {}).get(GROUP, {}))


@functools.cache
def registrations() -> dict[str, str]:
    """name → "module:ATTRIBUTE" of every registered service (nothing imported yet)."""
    table: dict[str, str] = {}
    own_found = False
    for ep in metadata.entry_points(group=GROUP):
        # setdefault: the first distribution on sys.path wins, as importlib.metadata does
        table.setdefault(ep.name, ep.value)
        dist = getattr(ep, "dist", None)
        own_found = own_found or (dist is not None and dist.name == DISTRIBUTION)
    if not own_found:
        # not pip-installed (Bazel): the same pyproject table, read directly
        for name, value in _pyproject_table().items():
            table.setdefault(name, value)
    return table


def _load(name: str, path: str) -> ServiceDefinition:
    module_name, sep, attribute = path.partition(":")
    if not sep:
        raise RegistryError(f"service {name!r}: {path!r} is not package.module:ATTRIBUTE")
    try:
        value = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise RegistryError(f"service {name!r}: cannot load {path}: {exc}") from None
    if not isinstance(value, ServiceDefinition):
        raise RegistryError(f"service {name!r}: {path} is a {type(value).__name__}, "
                            "not a ServiceDefinition")
    if value.name != name:
        raise RegistryError(f"service {name!r}: {path} is named {value.name!r}")
    return value


@functools.cache
def definition(name: str) -> ServiceDefinition:
    """One service's definition; imports only its own module."""
    table = registrations()
    if name not in table:
        raise KeyError(f"unknown service {name!r}; known: {', '.join(sorted(table))}")
    return _load(name, table[name])


def definitions() -> tuple[ServiceDefinition, ...]:
    """Every service, in start order: by default gRPC port (the local stack numbers them in
    the order they start; the worker needs the tasks API's database first)."""
    return tuple(sorted((definition(n) for n in registrations()),
                        key=lambda d: (d.grpc_port, d.name)))


def names() -> tuple[str, ...]:
    return tuple(d.name for d in definitions())


def clear_cache() -> None:
    """Forget what was read (tests that add a distribution to sys.path)."""
    registrations.cache_clear()
    definition.cache_clear()


__all__ = ["GROUP", "RegistryError", "ServiceDefinition", "clear_cache", "definition",
           "definitions", "names", "registrations"]
