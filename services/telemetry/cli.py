"""`bytebot health` (the fleet table) and `bytebot slo` (the performance-baseline table).

    bytebot health [--target HOST:PORT] [--service NAME ...] [--watch [--interval 5s]] [--json]
    bytebot health --direct            # probe the local stack's ports without the telemetry service
    bytebot slo [--target HOST:PORT] [--window 5m] [--json]

The telemetry service is --target, else $BYTEBOT_TELEMETRY_ADDRESS, else 127.0.0.1:50055.
Exit codes: health 0 when the fleet is HEALTHY, 1 otherwise; slo 0 unless an indicator is
BREACHED (1); 2 for usage errors; 3 when the telemetry service cannot be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from typing import Any

from libs.console import table
from libs.runtime import registry

# from the telemetry service's registration (libs.runtime.registry), not written again here
_TELEMETRY = registry.definition("telemetry")
DEFAULT_TARGET = _TELEMETRY.grpc_target()
TARGET_ENV = _TELEMETRY.address_variable
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(text: str) -> float:
    match = _DURATION.match(text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a duration like 30s, 5m or 1h")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _target(args: argparse.Namespace) -> str:
    return args.target or os.environ.get(TARGET_ENV) or DEFAULT_TARGET


def _stub(args: argparse.Namespace) -> Any:
    from bytebot.telemetry.v1 import telemetry_pb2_grpc

    from libs.runtime.client import create_sync_channel
    from libs.stack.client import cli_security

    # BYTEBOT_CLIENT_TOKEN_FILE / TLS settings (libs.security, issue 9)
    return telemetry_pb2_grpc.TelemetryServiceStub(
        create_sync_channel(_target(args), default_timeout=args.timeout, security=cli_security())
    )


def _rpc_failed(args: argparse.Namespace, err: Any) -> int:
    import grpc

    from libs.status.errors import field_violations

    code = err.code() if hasattr(err, "code") else None
    print(f"bytebot: telemetry at {_target(args)}: "
          f"{code.name if code else 'ERROR'}: {err.details()}", file=sys.stderr)
    for violation in field_violations(err):
        print(f"  {violation.field}: {violation.description}", file=sys.stderr)
    if code == grpc.StatusCode.UNAVAILABLE:
        print("  (is the stack running? `bytebot up`; or probe directly: "
              "`bytebot health --direct`)", file=sys.stderr)
        return 3
    if code == grpc.StatusCode.UNAUTHENTICATED:
        print("  (the stack requires a token: set BYTEBOT_CLIENT_TOKEN_FILE, e.g. "
              "var/auth/cli-token of `bytebot up --auth`)", file=sys.stderr)
        return 3
    return 2 if code == grpc.StatusCode.INVALID_ARGUMENT else 3


# --- health -------------------------------------------------------------------------------


def _short(enum_name: str, prefix: str) -> str:
    return enum_name.removeprefix(prefix)


def health_rows(response: Any) -> list[dict[str, str]]:
    from bytebot.telemetry.v1 import telemetry_pb2 as pb

    rows = []
    for service in response.services:
        row = {
            "service": service.name,
            "target": service.target,
            "status": _short(pb.ServingStatus.Name(service.status), "SERVING_STATUS_"),
        }
        errors = []
        for probe in service.probes:
            status = _short(pb.ServingStatus.Name(probe.status), "SERVING_STATUS_")
            took = probe.response_time.ToNanoseconds() / 1e9
            row[probe.probe] = f"{status} {table.duration(took)}"
            if probe.error:
                errors.append(f"{probe.probe}: {probe.error}")
        # the same error three times (one per probe) says it once
        unique = list(dict.fromkeys(e.split(": ", 1)[1] for e in errors))
        row["error"] = (unique[0] if len(unique) == 1 else "; ".join(errors))[:120]
        rows.append(row)
    return rows


def render_health(response: Any) -> str:
    from bytebot.telemetry.v1 import telemetry_pb2 as pb

    fleet = _short(pb.FleetStatus.Name(response.status), "FLEET_STATUS_")
    when = response.checked_at.ToJsonString()
    body = table.render(
        health_rows(response),
        ["service", "target", "status", "liveness", "readiness", "startup", "error"],
    )
    return f"fleet {fleet} (checked {when})\n{body}"


def _json(message: Any) -> str:
    from google.protobuf import json_format

    return json_format.MessageToJson(message, indent=None, preserving_proto_field_name=True)


async def _direct(names: list[str], timeout: float) -> Any:
    from bytebot.telemetry.v1 import telemetry_pb2 as pb

    from libs.stack.client import client_settings, exit_on_bad_settings
    from libs.stack.layout import grpc_targets
    from services.telemetry.fleet import FleetProber, fill_response, probe_channel_factory

    targets = grpc_targets(int(os.environ.get("BYTEBOT_PORTS_OFFSET", "0") or 0))
    with exit_on_bad_settings():
        factory = probe_channel_factory(client_settings())  # TLS when the stack serves TLS
    prober = FleetProber(targets, timeout=timeout, channel_factory=factory)
    try:
        unknown = prober.unknown(names)
        if unknown:
            raise SystemExit(f"bytebot: error: unknown service(s) {[n for _, n in unknown]}")
        return fill_response(pb.GetSystemHealthResponse(), await prober.check(names))
    finally:
        await prober.close()


def _health(args: argparse.Namespace) -> int:
    import grpc
    from bytebot.telemetry.v1 import telemetry_pb2 as pb

    names = list(args.service or [])
    if args.direct:
        response = asyncio.run(_direct(names, min(args.timeout, 2.0)))
        print(_json(response) if args.json else render_health(response))
        return 0 if response.status == pb.FLEET_STATUS_HEALTHY else 1
    stub = _stub(args)
    try:
        if args.watch:
            request = pb.WatchSystemHealthRequest(services=names)
            request.interval.FromNanoseconds(int(args.interval * 1e9))
            for message in stub.WatchSystemHealth(request, timeout=None):
                print(_json(message) if args.json else render_health(message) + "\n",
                      flush=True)
            return 0
        response = stub.GetSystemHealth(pb.GetSystemHealthRequest(services=names))
    except grpc.RpcError as err:
        return _rpc_failed(args, err)
    except KeyboardInterrupt:
        return 0
    print(_json(response) if args.json else render_health(response))
    return 0 if response.status == pb.FLEET_STATUS_HEALTHY else 1


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", help=f"telemetry service (default ${TARGET_ENV} "
                        f"or {DEFAULT_TARGET})")
    parser.add_argument("--json", action="store_true", help="print the response as JSON")
    parser.add_argument("--timeout", type=float, default=15.0, help="RPC deadline, seconds")


def register_health(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "health", help="show the health of the fleet",
        description="The liveness/readiness/startup probes of every service, via the "
        "telemetry service (or --direct).",
    )
    _common(parser)
    parser.add_argument("--service", action="append", help="only this service (repeatable)")
    parser.add_argument("--watch", action="store_true", help="print every change until Ctrl-C")
    parser.add_argument("--interval", type=parse_duration, default=5.0,
                        help="--watch probe interval (1s to 5m; default 5s)")
    parser.add_argument("--direct", action="store_true",
                        help="probe the local stack's ports from here (no telemetry service; "
                        "$BYTEBOT_PORTS_OFFSET shifts them)")
    parser.set_defaults(func=_health)


# --- slo ----------------------------------------------------------------------------------


def format_value(value: float, unit: str) -> str:
    if unit == "seconds":
        return table.duration(value)
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    return f"{value:g} {unit}"


def slo_rows(response: Any) -> list[dict[str, str]]:
    from bytebot.telemetry.v1 import telemetry_pb2 as pb

    rows = []
    for ind in response.indicators:
        rows.append({
            "indicator": ind.name,
            "current": format_value(ind.current, ind.unit) if ind.has_value else "-",
            "target": "< " + format_value(ind.target, ind.unit),
            "alert": "> " + format_value(ind.alert_threshold, ind.unit),
            "state": _short(pb.SloState.Name(ind.state), "SLO_STATE_"),
        })
    return rows


def render_slo(response: Any, window_s: float) -> str:
    header = (f"SLO report over {window_s:g}s from {response.source} "
              f"(generated {response.generated_at.ToJsonString()})")
    body = table.render(slo_rows(response), ["indicator", "current", "target", "alert", "state"])
    return f"{header}\n{body}"


def _slo(args: argparse.Namespace) -> int:
    import grpc
    from bytebot.telemetry.v1 import telemetry_pb2 as pb

    request = pb.GetSloReportRequest()
    request.window.FromNanoseconds(int(args.window * 1e9))
    try:
        response = _stub(args).GetSloReport(request)
    except grpc.RpcError as err:
        return _rpc_failed(args, err)
    if args.json:
        print(_json(response))
    else:
        print(render_slo(response, args.window))
        if args.queries:
            print()
            for ind in response.indicators:
                print(f"{ind.name}: {ind.query}")
    breached = any(i.state == pb.SLO_STATE_BREACHED for i in response.indicators)
    return 1 if breached else 0


def register_slo(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "slo", help="print the performance-baseline / SLO report",
        description="The source document's performance baselines: current value, target, "
        "alert threshold and state of each indicator.",
    )
    _common(parser)
    parser.add_argument("--window", type=parse_duration, default=300.0,
                        help="the window (1m to 24h; default 5m)")
    parser.add_argument("--queries", action="store_true", help="also print each PromQL")
    parser.set_defaults(func=_slo)


__all__ = ["register_health", "register_slo"]

if __name__ == "__main__":  # pragma: no cover - `python -m services.telemetry.cli`
    _parser = argparse.ArgumentParser(prog="bytebot")
    _subs = _parser.add_subparsers(dest="command", required=True)
    register_health(_subs)
    register_slo(_subs)
    _args = _parser.parse_args()
    sys.exit(_args.func(_args))
