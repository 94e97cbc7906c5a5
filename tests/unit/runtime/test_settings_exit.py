"""A service started with a bad setting ends at once with the one settings error on stderr —
the variable and the value, no traceback — and exit code 2 (`bytebot serve`, the entry point
of every service: Kubernetes runs `bytebot serve <name>`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.cli_env import cli_env

CASES = [
    # (service, extra arguments, environment, the whole line on stderr)
    ("computer", [], {"BYTEBOT_GRPC_PORT": "abc"},
     "BYTEBOT_GRPC_PORT='abc': not an integer"),
    # a composed security setting, read from its flat name
    ("telemetry", [], {"BYTEBOT_AUTH_MODE": "magic"},
     "BYTEBOT_AUTH_MODE='magic': not one of 'none', 'token', 'jwt' or 'token+jwt'"),
    ("tasks-worker", [], {"BYTEBOT_WORKER_DEPENDENCIES": "database,gpu"},
     "BYTEBOT_WORKER_DEPENDENCIES='database,gpu': [1]: "
     "not one of 'database', 'computer' or 'inference'"),
    ("inference", ["--http-port", "70000"], {},
     "http_port=70000 (overriding BYTEBOT_HTTP_PORT): must be <= 65535"),
    ("tasks-api", ["--set", "watch_poll_seconds=0"], {},
     "watch_poll_seconds='0' (overriding BYTEBOT_WATCH_POLL_SECONDS): must be > 0.0"),
]


@pytest.mark.parametrize(("service", "args", "env", "message"), CASES,
                         ids=[case[0] for case in CASES])
def test_bad_setting_ends_the_service_with_one_clear_line(service, args, env, message):
    done = subprocess.run(
        [sys.executable, "-m", "libs.runtime.cli", "serve", service, *args],
        env=cli_env(**env), capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"bytebot: error: {message}\n"
    assert "Traceback" not in done.stdout
