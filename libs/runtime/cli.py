"""`bytebot` — the one command-line entry point (pyproject: `bytebot = "libs.runtime.cli:main"`).

    bytebot serve <tasks-api|tasks-worker|computer|inference|telemetry|...> \
        [--grpc-port N] [--http-port M] [--set field=value ...]
    bytebot serve some.module:ENTRY          # any ServiceEntry by import path (tests, tools)
    bytebot services                         # the services `serve` knows, with their ports

Extending it — other subcommands live in their own modules and are imported only when
used, so `bytebot serve computer` never imports the tasks database code:

    SUBCOMMANDS["up"] = ("libs.stack.cli:register", "run the whole stack locally")

`register(subparsers)` adds ONE subparser (`subparsers.add_parser("up", help=...)`) and sets
its handler with `parser.set_defaults(func=run)`; `run(args) -> int | None` is the exit code.
Only the module of the subcommand being run is imported (plus, for `--help`, all of them;
a module that does not exist yet is listed as "not installed" instead of breaking the CLI).

Services are not listed here: they come from the service registry (libs.runtime.registry,
the pyproject table `[project.entry-points."bytebot.services"]`), resolved lazily too.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Any

from libs.runtime import registry
from libs.runtime.config import SettingsError, parse_assignments

# name → ("module:register_function", one-line help). Add yours here.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "up": ("libs.stack.cli:register", "run the whole stack locally, one process per service"),
    "task": ("services.tasks.cli:register_task", "create, get, list, cancel and watch tasks"),
    "db": ("services.tasks.cli:register_db", "database commands (bytebot db upgrade)"),
    "health": ("services.telemetry.cli:register_health", "show the health of the fleet"),
    "slo": ("services.telemetry.cli:register_slo", "print the performance-baseline / SLO report"),
}


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit code 2."""


def resolve(path: str) -> Any:
    """`"package.module:ATTRIBUTE"` → the attribute, with errors that say what is missing."""
    module_name, sep, attribute = path.partition(":")
    if not sep or not module_name or not attribute:
        raise CliError(f"{path!r} is not of the form package.module:ATTRIBUTE")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            raise CliError(f"module {module_name} does not exist (yet)") from None
        raise  # the module exists but one of ITS imports is missing: show the real error
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise CliError(f"module {module_name} has no {attribute}") from None


def _known() -> list[str]:
    # the registered names, without importing any service's module
    return sorted(registry.registrations())


def resolve_service(name: str) -> Any:
    if ":" in name:
        entry = resolve(name)
    elif name in registry.registrations():
        try:
            entry = resolve(registry.definition(name).entry)
        except (CliError, registry.RegistryError) as exc:
            raise CliError(f"service {name!r} is not available: {exc}") from None
    else:
        raise CliError(
            f"unknown service {name!r}; known: {', '.join(_known())} (or package.module:ENTRY)"
        )
    from libs.runtime.server import ServiceEntry

    if not isinstance(entry, ServiceEntry):
        raise CliError(f"{name} is a {type(entry).__name__}, not a ServiceEntry")
    return entry


# --- serve ---------------------------------------------------------------------------------


def _serve(args: argparse.Namespace) -> int:
    entry = resolve_service(args.service)
    overrides: dict[str, Any] = parse_assignments(args.set)
    if args.grpc_port is not None:
        overrides["grpc_port"] = args.grpc_port
    if args.http_port is not None:
        overrides["http_port"] = args.http_port
    if args.log_level is not None:
        overrides["log_level"] = args.log_level
    from libs.runtime.server import serve

    return serve(entry, overrides)


def _register_serve(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="run one service until SIGTERM",
        description="Run one service (gRPC + HTTP ops port) until SIGTERM/SIGINT, then drain.",
    )
    parser.add_argument("service", help=f"one of {', '.join(_known())}, or package.module:ENTRY")
    parser.add_argument("--grpc-port", type=int, help="gRPC port (0: a free port)")
    parser.add_argument("--http-port", type=int, help="HTTP ops port: /metrics, /health/*")
    parser.add_argument("--log-level", help="debug, info, warning, error")
    parser.add_argument(
        "--set",
        action="append",
        metavar="FIELD=VALUE",
        help="override any setting (repeatable); same names as BYTEBOT_<FIELD>",
    )
    parser.set_defaults(func=_serve)


def _list_services(_args: argparse.Namespace) -> int:
    for d in registry.definitions():
        print(f"{d.name:14} grpc {d.grpc_port:<6} http {d.http_port:<6} "
              f"job {d.job:20} {d.entry}")
    return 0


def _register_services(subparsers: Any) -> None:
    parser = subparsers.add_parser("services", help="list the services `serve` knows")
    parser.set_defaults(func=_list_services)


BUILTIN = {"serve": _register_serve, "services": _register_services}


# --- parser --------------------------------------------------------------------------------


def _not_installed(name: str, help_text: str, reason: str) -> Any:
    def register(subparsers: Any) -> None:
        parser = subparsers.add_parser(name, help=f"{help_text} [not installed]")

        def run(_args: argparse.Namespace) -> int:
            raise CliError(f"`bytebot {name}` is not available: {reason}")

        parser.set_defaults(func=run)

    return register


def _lazy_register(name: str, tolerant: bool) -> Any:
    path, help_text = SUBCOMMANDS[name]
    try:
        return resolve(path)
    except CliError as exc:
        return _not_installed(name, help_text, str(exc))
    except Exception as exc:
        if not tolerant:
            raise  # running this very command: show the real import error
        # `bytebot --help` must work even when one subcommand's module is broken
        return _not_installed(name, help_text, f"{path} failed to import: {exc!r}")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, just that subcommand's module is imported."""
    parser = argparse.ArgumentParser(prog="bytebot", description="Bytebot backend command line")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name, register in BUILTIN.items():
        if only is None or only == name:
            register(subparsers)
    for name in SUBCOMMANDS:
        if only is None or only == name:
            _lazy_register(name, tolerant=only is None)(subparsers)
    return parser


def _first_command(argv: Sequence[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in BUILTIN or arg in SUBCOMMANDS else None
        if arg in ("-h", "--help"):
            return None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(_first_command(argv))
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
    except (CliError, SettingsError) as exc:
        print(f"bytebot: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
