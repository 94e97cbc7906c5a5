"""README's examples, run as written against `bytebot up` (its own Xvfb and demo window).

The commands come FROM README.md: every fenced `sh` block of "Calling a service with
grpcurl" and "Using the stack", continuation lines joined. Only what a reader would change
is substituted: the default ports become the ports of this stack (`--ports-offset auto`),
`<task id>` the id the last create printed, `<ref.KEY from METHOD>` the first KEY in the JSON
the last call of METHOD printed (channelz ids); the CLI finds the shifted ports through
BYTEBOT_TASKS_ADDRESS / BYTEBOT_TELEMETRY_ADDRESS / BYTEBOT_PORTS_OFFSET, and commands run
in the folder holding the stack's `var/`, as after `bytebot up` in a checkout. Each command
must exit 0; the "click Submit" task must COMPLETE, and the demo window must show it: its
status line reads "Submitted: …" on a screenshot (OCR through the inference service) and
the demo logged the click.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest
from bytebot.computer.v1 import computer_pb2, computer_pb2_grpc
from bytebot.inference.v1 import inference_pb2, inference_pb2_grpc

from libs.stack.layout import LOCAL_STACK
from tests.integration.runtime.conftest import grpcurl_path
from tests.support.stack import REPO, UpProcess

SECTIONS = ("Calling a service with grpcurl", "Using the stack")
# commands that start a stack of their own (the test already runs one)
STARTS_A_STACK = re.compile(r"^(\S*/)?(bytebot|dev\.sh) up\b")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Exit codes README documents as an answer, not a failure: `bytebot slo` exits 1 when an
# indicator is BREACHED (services/telemetry/cli.py) — CPU OCR on a loaded 2-core machine can
# push the unary p95 over 2 s — and must then still have printed the report.
ANSWERS: dict[str, tuple[int, str]] = {"bytebot slo": (1, "BREACHED")}
PLACEHOLDER = re.compile(r"<[a-z][^<>]*>")
FROM_OUTPUT = re.compile(r"<ref\.(\w+) from (\w+)>")


def readme_commands(readme: Path = REPO / "README.md") -> list[str]:
    """The shell commands of SECTIONS' ```sh blocks, one string per command."""
    commands: list[str] = []
    section = ""
    in_block = False
    pending = ""
    for line in readme.read_text(encoding="utf-8").splitlines():
        if not in_block and line.startswith("## "):
            section = line[3:].strip()
        elif line.strip() == "```sh":
            in_block = section in SECTIONS
        elif line.strip() == "```":
            in_block = False
        elif in_block and line.strip():
            pending += line.rstrip()
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            if not STARTS_A_STACK.match(pending.strip()):
                commands.append(pending.strip())
            pending = ""
    return commands


def shift_ports(command: str, offset: int) -> str:
    """README's default ports (docs/runtime-api.md) → this stack's."""
    for service in LOCAL_STACK:
        for port in (service.grpc_port, service.http_port):
            command = re.sub(rf"\b127\.0\.0\.1:{port}\b", f"127.0.0.1:{port + offset}", command)
    return command


def _first(value: object, key: str) -> object | None:
    """The first `key` anywhere in a JSON document (depth first)."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _first(item, key)
            if found is not None:
                return found
    return None


def fill_from_outputs(command: str, outputs: dict[str, str]) -> str:
    """`<ref.KEY from METHOD>` → KEY out of what the last `…/METHOD` call printed."""
    def value(match: re.Match[str]) -> str:
        key, method = match.groups()
        assert method in outputs, f"{command!r}: no example called {method} before it"
        found = _first(json.loads(outputs[method]), key)
        assert found is not None, f"{command!r}: {method} printed no {key}:\n{outputs[method]}"
        return str(found)
    return FROM_OUTPUT.sub(value, command)


def _bin_dir(tmp: Path) -> Path:
    """`bytebot` and `grpcurl` on PATH as a reader has them after set-up."""
    folder = tmp / "bin"
    folder.mkdir()
    bytebot = folder / "bytebot"
    bytebot.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m libs.runtime.cli "$@"\n')
    bytebot.chmod(0o755)
    (folder / "grpcurl").symlink_to(grpcurl_path())
    return folder


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    work = tmp_path_factory.mktemp("readme")
    # no DISPLAY: the stack runs its own Xvfb and opens the demo on it, as on a fresh machine
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "BYTEBOT_DISPLAY")}
    env["OTEL_TRACES_EXPORTER"] = "none"
    stack = UpProcess(work / "var", {}, base_env=env)
    try:
        yield work, env, stack
    finally:
        stack.stop()


def _run(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _visible_text(stack: UpProcess, query: str) -> list[str]:
    """What the inference service reads on a screenshot of the stack's display."""
    with grpc.insecure_channel(stack.grpc("computer")) as computer, \
            grpc.insecure_channel(stack.grpc("inference")) as inference:
        shot = computer_pb2_grpc.ComputerServiceStub(computer).Screenshot(
            computer_pb2.ScreenshotRequest(), timeout=30)
        found = inference_pb2_grpc.InferenceServiceStub(inference).FindText(
            inference_pb2.FindTextRequest(image=shot.image, query=query), timeout=60)
    return [m.region.text for m in found.matches]


def test_readme_has_the_examples_this_test_runs():
    commands = readme_commands()
    assert any(c.startswith("bytebot task create") and "click Submit" in c for c in commands)
    assert any(c.startswith("bytebot task watch <task id>") for c in commands)
    assert any(c.startswith("grpcurl ") for c in commands)


def test_every_readme_example_runs_green_on_bytebot_up(up, tmp_path):
    work, env, stack = up
    demo = stack.services.get("demo")
    assert demo is not None, f"bytebot up opened no demo window: {stack.endpoints}"
    assert Path(demo["log"]) == stack.var_dir / "log" / "demo.log"
    assert stack.endpoints["display"] == demo["display"]  # the stack's own Xvfb
    assert not _visible_text(stack, "Submitted:"), "the demo starts in the submitted state"

    env = {
        **env,
        "PATH": f"{_bin_dir(tmp_path)}{os.pathsep}{env.get('PATH', '')}",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "protos")]),
        "BYTEBOT_TASKS_ADDRESS": stack.grpc("tasks-api"),
        "BYTEBOT_TELEMETRY_ADDRESS": stack.grpc("telemetry"),
        "BYTEBOT_PORTS_OFFSET": str(stack.offset),
    }
    task_id: str | None = None
    click_task: str | None = None
    ran = []
    outputs: dict[str, str] = {}  # RPC method name → what its last grpcurl call printed
    for example in readme_commands():
        command = shift_ports(example, stack.offset)
        if "<task id>" in command:
            assert task_id, f"{example!r} needs a task, and no example before it created one"
            command = command.replace("<task id>", task_id)
        command = fill_from_outputs(command, outputs)
        code = command.split("#", 1)[0]  # without the README's comment
        unknown = PLACEHOLDER.findall(code)
        assert not unknown, f"README example {example!r}: no value known for {unknown}"
        result = _run(command, work, env)
        answer = ANSWERS.get(code.strip())
        ok = result.returncode == 0 or (
            answer is not None and result.returncode == answer[0] and answer[1] in result.stdout)
        assert ok, (
            f"README example failed (exit {result.returncode}):\n  {example}\nran as:\n"
            f"  {command}\nstdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-2000:]}"
        )
        ran.append(f"$ {command}\n{result.stdout[-1500:]}")
        called = re.search(r"/(\w+)(\s|$)", code)
        if code.startswith("grpcurl") and called:
            outputs[called.group(1)] = result.stdout
        if "task create" in code or "TaskService/CreateTask" in code:
            created = UUID.search(result.stdout)
            assert created, f"{example!r} printed no task id:\n{result.stdout}"
            task_id = created.group(0)
            if "click Submit" in code:
                click_task = task_id
        if click_task and code.startswith("bytebot task watch") and click_task in code:
            # exit 0 of `watch` means COMPLETED (services/tasks/cli.py); the last line says so
            assert "COMPLETED" in result.stdout.strip().splitlines()[-1], result.stdout

    assert click_task is not None, "no 'click Submit' task among:\n" + "\n".join(ran)
    # the click landed: the window changed, and the demo logged it
    deadline = time.monotonic() + 30
    while "submitted: hello from bytebot" not in Path(demo["log"]).read_text():
        assert time.monotonic() < deadline, (
            f"the demo saw no click; its log:\n{Path(demo['log']).read_text()}\n"
            + "\n".join(ran[-6:]))
        time.sleep(0.2)
    seen = _visible_text(stack, "Submitted:")
    assert seen, "the demo window does not show 'Submitted: …' after the click task"


def test_the_demo_opens_only_on_the_stacks_own_xvfb_and_not_with_no_demo(tmp_path):
    from libs.stack.stack import LocalStack, StackOptions

    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    yours = LocalStack(StackOptions(var_dir=tmp_path / "a", base_env={"DISPLAY": ":99"}))
    yours._start_display()
    yours._start_demo(time.monotonic() + 30)
    assert yours.display is None and yours.demo_child is None  # never on your desktop
    assert yours.env_for(yours.service("computer"))["DISPLAY"] == ":99"

    no_demo = LocalStack(StackOptions(var_dir=tmp_path / "b", base_env={}, demo=False))
    try:
        no_demo._start_display()
        no_demo._start_demo(time.monotonic() + 30)
        assert no_demo.display is not None and no_demo.demo_child is None
        # the computer service drives the stack's Xvfb
        assert no_demo.env_for(no_demo.service("computer"))["DISPLAY"] == no_demo.display
        assert all(r["service"] != "demo" for r in no_demo.rows())
    finally:
        no_demo.stop()
    assert no_demo.display is None
