"""`bytebot up`: run the whole stack locally, one process per service, until Ctrl-C/SIGTERM.

    bytebot up                          # default ports (docs/runtime-api.md)
    bytebot up --with-prometheus        # plus a Prometheus scraping the stack (port 9090)
                                        # and a node exporter (port 9100)
    bytebot up --ports-offset 1000      # every port + 1000 (a second stack)
    bytebot up --ports-offset auto      # a free block of ports (tests)
    bytebot up --auth                   # token authentication (tokens under var/auth/)
    bytebot up --no-demo                # no demo window on the stack's own Xvfb

Without --auth the stack serves open on loopback (every service warns at start-up); a
--host other than loopback needs --auth (the runtime refuses to serve it open).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

from libs.console import table
from libs.stack.layout import service_names
from libs.stack.stack import LocalStack, StackError, StackOptions, free_offset
from libs.stack.supervisor import describe_exit


def _offset(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError("expected an integer or 'auto'") from None
    if not 0 <= value <= 15_000:
        raise argparse.ArgumentTypeError("must be between 0 and 15000")
    return value


def _services(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = service_names()  # the registry (libs.runtime.registry)
    unknown = [n for n in names if n not in known]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown service(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return names


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "up",
        help="run the whole stack locally, one process per service",
        description="Start every registered service (tasks-api, tasks-worker, computer, "
        "inference, telemetry, ...: pyproject [project.entry-points.\"bytebot.services\"]) as "
        "separate `bytebot serve` processes, print their endpoints, and stop them all "
        "gracefully on Ctrl-C or SIGTERM.",
    )
    parser.add_argument("--ports-offset", type=_offset, default=0,
                        help="add N to every port, or 'auto' for a free block (default 0)")
    parser.add_argument("--host", default="127.0.0.1", help="listen address of every service")
    parser.add_argument("--var-dir", type=Path, default=Path("var"),
                        help="SQLite file, logs and Prometheus data (default ./var)")
    parser.add_argument("--only", type=_services, default=list(service_names()),
                        help="comma-separated subset of the services")
    parser.add_argument("--with-prometheus", action="store_true",
                        help="also run Prometheus (port 9090 + offset) scraping the stack, and "
                        "prometheus-node-exporter (port 9100 + offset, job node-exporter)")
    parser.add_argument("--startup-timeout", type=float, default=120.0,
                        help="seconds each service may take to become ready")
    parser.add_argument("--logs-to-terminal", action="store_true",
                        help="children log to this terminal instead of var/log/<service>.log")
    parser.add_argument("--json", action="store_true",
                        help="print the endpoints as one JSON object instead of a table")
    parser.add_argument("--auth", action="store_true",
                        help="token authentication on every service: writes var/auth/tokens "
                        "(hashes), worker-token and cli-token (export "
                        "BYTEBOT_CLIENT_TOKEN_FILE=var/auth/cli-token for the CLI)")
    parser.add_argument("--no-demo", dest="demo", action="store_false",
                        help="do not open the demo application (a form with a Submit button, "
                        "a text field and a file list) on the stack's own Xvfb; it only "
                        "opens there, never on a DISPLAY of yours")
    parser.set_defaults(func=run)


class _Signals:
    """Until the stack is up a signal interrupts the start-up (which then stops what it
    started); afterwards it is only noted, and the main loop stops the stack."""

    def __init__(self) -> None:
        self.received: int | None = None
        self.started = False

    def __call__(self, signum: int, _frame: Any) -> None:
        self.received = signum
        if not self.started:
            raise KeyboardInterrupt


def _auth_summary(stack: LocalStack) -> dict[str, str]:
    """Paths only, never a token."""
    if stack.auth is None:
        return {"mode": "none"}
    return {
        "mode": "token",
        "tokens_file": str(stack.auth.tokens_file),
        "client_token_file": str(stack.auth.cli_token_file),
    }


def run(args: argparse.Namespace) -> int:
    from libs.env_settings import SettingsError, load
    from libs.security.runtime_hooks import is_loopback
    from libs.security.settings import SecuritySettings

    name = "BYTEBOT_INSECURE_ALLOW_OPEN"
    try:
        open_ok = load(SecuritySettings, environ={name: os.environ.get(name, "")}
                       ).insecure_allow_open
    except SettingsError:
        open_ok = False  # the services themselves report the bad value
    if not args.auth and not is_loopback(args.host) and not open_ok:
        # every service would refuse to start (libs.security); say so once, up front
        print(f"bytebot up: --host {args.host} is not loopback: add --auth (or accept the "
              "risk with BYTEBOT_INSECURE_ALLOW_OPEN=true)", file=sys.stderr)
        return 2
    offset = free_offset(args.host) if args.ports_offset == "auto" else args.ports_offset
    stack = LocalStack(StackOptions(
        offset=offset,
        host=args.host,
        var_dir=args.var_dir,
        services=args.only,
        with_prometheus=args.with_prometheus,
        startup_timeout=args.startup_timeout,
        log_to_files=not args.logs_to_terminal,
        auth=args.auth,
        demo=args.demo,
    ))
    signals = _Signals()
    failed = False
    previous = {s: signal.signal(s, signals) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        print(f"starting {', '.join(args.only)} (logs: {stack.var_dir / 'log'}) …",
              file=sys.stderr, flush=True)
        try:
            stack.start()
        except StackError as exc:
            print(f"bytebot up: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("bytebot up: interrupted during start-up", file=sys.stderr)
            return 130
        signals.started = True
        rows = stack.rows()
        auth = _auth_summary(stack)
        if args.json:
            print(json.dumps({"offset": offset, "services": rows, "auth": auth,
                              "display": stack.display}), flush=True)
        else:
            print(table.render(rows, ["service", "pid", "grpc", "metrics", "health"]))
            if auth["mode"] == "token":
                print(f"\nauth: token — for the CLI: "
                      f"export BYTEBOT_CLIENT_TOKEN_FILE={auth['client_token_file']}")
            else:
                print("\nauth: none (open on loopback; `bytebot up --auth` turns it on)")
            if stack.display is not None:
                demo_row = next((r for r in rows if r["service"] == "demo"), None)
                print(f"display: {stack.display} (the stack's own Xvfb)"
                      + (f"; demo window log: {demo_row['log']}"
                         if demo_row and demo_row["log"] != "-" else ""))
            print("\nready — Ctrl-C stops the stack", flush=True)
        while signals.received is None:
            for child in stack.exited():
                failed = True
                code = child.returncode()
                tail = child.log_tail(10)
                print(f"bytebot up: {child.name} (pid {child.pid}) "
                      f"{describe_exit(code if code is not None else 0)}"
                      + (f"; last log lines:\n{tail}" if tail else ""),
                      file=sys.stderr, flush=True)
            time.sleep(0.25)
        print("stopping …", file=sys.stderr, flush=True)
    finally:
        codes = stack.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
    summary = ", ".join(f"{name} {describe_exit(code)}" for name, code in codes.items())
    if summary:
        print(f"stopped: {summary}", file=sys.stderr, flush=True)
    return 1 if failed else 0
