"""The security layer as people run it: `bytebot up --auth` generates tokens and starts the
services with token authentication, and the CLI (`bytebot task`, `bytebot health`) sends the
token named by BYTEBOT_CLIENT_TOKEN_FILE and speaks TLS from the BYTEBOT_TLS_* variables.
Real processes: the stack, and the CLI as a subprocess each time."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from libs.runtime.server import start_service
from libs.runtime.testing import ENTRY as MEMBER
from libs.security.tokens import parse_tokens
from services.telemetry.main import ENTRY as TELEMETRY
from tests.integration.security.material import TOKENS, make_pki, write_tokens_file
from tests.support.cli_env import cli_env
from tests.support.stack import UpProcess

REPO = Path(__file__).resolve().parents[3]
CLI_TIMEOUT = 60


def bytebot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "libs.runtime.cli", *args], cwd=REPO, env=env,
        capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
    )


async def abytebot(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """The CLI while this event loop serves the in-process services it calls."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "libs.runtime.cli", *args, cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture(scope="module")
def auth_stack(tmp_path_factory):
    """`bytebot up --auth` (a subset of the services), no security variable of our shell."""
    stack = UpProcess(tmp_path_factory.mktemp("up-auth"), {}, startup_timeout=120,
                      args=["--auth", "--only", "tasks-api,telemetry"], base_env=cli_env())
    try:
        yield stack
    finally:
        assert stack.stop() == 0, stack.stderr()[-3000:]


def test_up_auth_writes_hashed_tokens_and_private_token_files(auth_stack):
    auth = auth_stack.endpoints["auth"]
    assert auth["mode"] == "token"
    tokens_file, cli_token = Path(auth["tokens_file"]), Path(auth["client_token_file"])
    worker_token = tokens_file.parent / "worker-token"
    for path in (tokens_file, cli_token, worker_token):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(tokens_file.parent.stat().st_mode) == 0o700
    text = tokens_file.read_text()
    entries = parse_tokens(text, str(tokens_file))
    roles = {e.identity.subject: set(e.identity.roles) for e in entries.values()}
    assert roles == {"tasks-worker": {"worker"}, "developer": {"user", "admin"}}
    for plaintext in (cli_token.read_text().strip(), worker_token.read_text().strip()):
        assert len(plaintext) >= 40 and plaintext not in text  # hashes only
    # the services say so at start-up (modes and paths only, never a token)
    for service in ("tasks-api", "telemetry"):
        log = (auth_stack.var_dir / "log" / f"{service}.log").read_text()
        (security,) = [line for line in auth_stack.logs(service)
                       if line["message"] == "gRPC security"]
        assert security["auth_mode"] == "token", security
        assert cli_token.read_text().strip() not in log
        assert worker_token.read_text().strip() not in log


def test_cli_without_a_token_is_unauthenticated_and_with_the_token_file_works(auth_stack):
    cli_token = auth_stack.endpoints["auth"]["client_token_file"]
    tasks, telemetry = auth_stack.grpc("tasks-api"), auth_stack.grpc("telemetry")

    anonymous = bytebot("task", "list", "--target", tasks, env=cli_env())
    assert anonymous.returncode != 0
    assert "UNAUTHENTICATED" in anonymous.stderr, anonymous.stderr
    wrong = Path(auth_stack.var_dir / "someone-elses-token")
    wrong.write_text(TOKENS["alice"][0])  # a token the stack does not know
    stranger = bytebot("task", "list", "--target", tasks,
                       env=cli_env(BYTEBOT_CLIENT_TOKEN_FILE=str(wrong)))
    assert "UNAUTHENTICATED" in stranger.stderr, stranger.stderr
    allowed = bytebot("task", "list", "--target", tasks,
                      env=cli_env(BYTEBOT_CLIENT_TOKEN_FILE=cli_token))
    assert allowed.returncode == 0, allowed.stderr

    anonymous = bytebot("health", "--target", telemetry, env=cli_env())
    assert anonymous.returncode == 3
    assert "UNAUTHENTICATED" in anonymous.stderr and "BYTEBOT_CLIENT_TOKEN_FILE" in anonymous.stderr
    allowed = bytebot("health", "--target", telemetry, "--json",
                      env=cli_env(BYTEBOT_CLIENT_TOKEN_FILE=cli_token))
    assert allowed.returncode == 0, allowed.stderr
    health = json.loads(allowed.stdout)
    # the telemetry service probes the fleet without a token (health is exempt)
    assert health["status"] == "FLEET_STATUS_HEALTHY"
    assert {s["name"] for s in health["services"]} == {"tasks-api", "telemetry"}

    missing = bytebot("task", "list", "--target", tasks,
                      env=cli_env(BYTEBOT_CLIENT_TOKEN_FILE=str(auth_stack.var_dir / "nope")))
    assert missing.returncode != 0
    assert "client token file" in missing.stderr and "Traceback" not in missing.stderr


def test_cli_speaks_tls_with_a_token_from_the_environment(tmp_path):
    """In-process: a TLS fleet member and a TLS + token-auth telemetry service; the CLI
    reaches telemetry only with BYTEBOT_TLS_CA_FILE and BYTEBOT_CLIENT_TOKEN_FILE."""
    pki = make_pki(tmp_path)
    tokens = write_tokens_file(tmp_path / "tokens")
    alice = tmp_path / "alice-token"
    alice.write_text(TOKENS["alice"][0])
    tls = {"tls_cert_file": str(pki.server_cert), "tls_key_file": str(pki.server_key)}

    async def scenario() -> None:
        async with start_service(MEMBER, {**tls, "auth_mode": "token",
                                          "tokens_file": str(tokens)}) as member:
            async with start_service(TELEMETRY, {
                **tls, "auth_mode": "token", "tokens_file": str(tokens),
                "tls_ca_file": str(pki.ca), "services": {"member": member.grpc_target},
                "metrics_urls": {},
            }) as telemetry:
                target = telemetry.grpc_target
                both = cli_env(BYTEBOT_TLS_CA_FILE=str(pki.ca),
                               BYTEBOT_CLIENT_TOKEN_FILE=str(alice))
                code, out, err = await abytebot("health", "--target", target, "--json",
                                                env=both)
                assert code == 0, err
                assert json.loads(out)["status"] == "FLEET_STATUS_HEALTHY"

                code, _, err = await abytebot(
                    "health", "--target", target, env=cli_env(BYTEBOT_TLS_CA_FILE=str(pki.ca)))
                assert code == 3 and "UNAUTHENTICATED" in err, err
                code, _, err = await abytebot(
                    "health", "--target", target,
                    env=cli_env(BYTEBOT_CLIENT_TOKEN_FILE=str(alice)))  # plaintext to TLS
                assert code == 3 and "UNAVAILABLE" in err, err

    asyncio.run(asyncio.wait_for(scenario(), 150))
