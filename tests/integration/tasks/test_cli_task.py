"""`bytebot task create|list|get|watch|cancel` against a real tasks API process and a real
worker process (steps executed by the real computer service on Xvfb), on SQLite: the
readable tables and lines people read, `--json` for scripts, exit codes, errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from libs.runtime.cli import main
from services.tasks.testing.databases import sqlite_url
from services.tasks.testing.processes import ServiceProcess, stop_all

pytestmark = [pytest.mark.xvfb, pytest.mark.slow]

LIST_HEADER = ["ID", "STATUS", "PRIORITY", "TYPE", "CREATED_BY", "CREATED", "STEPS", "ERROR"]
STEPS = [
    '{"name": "pause", "wait": {"duration": "0.1s"}}',
    '{"cursorPosition": {}}',
    '{"screenshot": {}}',
]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, computer: ServiceProcess) -> Iterator[str]:
    url = sqlite_url(Path(tmp_path_factory.mktemp("cli")))
    common = {"database_url": url, "health_check_interval_seconds": 0.5}
    api = ServiceProcess("tasks-api", {**common, "watch_poll_seconds": 0.05}).start()
    worker = ServiceProcess(
        "tasks-worker",
        {
            **common,
            "computer_address": computer.grpc_target,
            "worker_dependencies": "database,computer",
            "poll_interval_seconds": 0.05,
            "poll_max_interval_seconds": 0.5,
        },
    ).start()
    try:
        yield api.grpc_target
    finally:
        stop_all([worker, api])


def bytebot(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["task", *args])
    out, err = capsys.readouterr()
    return code, out, err


def table_rows(text: str) -> list[dict[str, str]]:
    """An aligned table back into dicts, cutting each line at the header's column starts."""
    lines = text.splitlines()
    header = lines[0]
    titles = header.split()
    starts: list[int] = []
    for title in titles:  # left to right: CREATED must not match inside CREATED_BY
        starts.append(header.index(title, starts[-1] + 1 if starts else 0))
    ends = [*starts[1:], None]
    return [
        {t: line[s:e].strip() for t, s, e in zip(titles, starts, ends, strict=True)}
        for line in lines[1:]
        if line.strip() and not line.startswith("more:")
    ]


def block(text: str) -> dict[str, str]:
    """`task get`'s `key  value` lines (up to the steps table)."""
    fields = {}
    for line in text.split("\n\n")[0].splitlines():
        key, value = re.split(r"\s{2,}", line, maxsplit=1)
        fields[key] = value
    return fields


def watch_lines(out: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in out.splitlines() if line.strip()]


def in_seconds(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat()


def test_create_watch_get_and_list_a_task_step_by_step(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Scheduled 2 s ahead, so the watch starts while it is still PENDING and sees it all.
    steps = [arg for step in STEPS for arg in ("--step", step)]
    code, out, err = bytebot(
        capsys, "--target", api, "create", "--description", "look around", *steps,
        "--priority", "high", "--created-by", "carol", "--scheduled-for", in_seconds(2),
    )
    assert code == 0, err
    created = block(out)
    task_id = created["task"]
    assert created["status"] == "PENDING"
    assert created["priority"] == "HIGH" and created["type"] == "SCHEDULED"
    assert created["created"].endswith(" by carol")
    assert "steps (0/3 succeeded):" in out

    code, out, err = bytebot(capsys, "watch", task_id, "--target", api)
    assert code == 0, err
    lines = watch_lines(out)
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", line[0]) for line in lines), lines
    assert [line[1:4] for line in lines] == [
        ["SNAPSHOT", "-", "PENDING"],
        ["STARTED", "-", "RUNNING"],
        ["STEP_STARTED", 'step 1/3 wait "pause"', "RUNNING"],
        ["STEP_FINISHED", 'step 1/3 wait "pause"', "RUNNING"],
        ["STEP_STARTED", "step 2/3 cursor_position", "RUNNING"],
        ["STEP_FINISHED", "step 2/3 cursor_position", "RUNNING"],
        ["STEP_STARTED", "step 3/3 screenshot", "RUNNING"],
        ["STEP_FINISHED", "step 3/3 screenshot", "RUNNING"],
        ["COMPLETED", "-", "COMPLETED"],
    ]
    assert lines[2][4] == "step 1 (wait) started"
    assert lines[-1][4] == "completed"

    code, out, err = bytebot(capsys, "--target", api, "get", task_id)
    assert code == 0, err
    got = block(out)
    assert got["status"] == "COMPLETED (attempt 1 of 3)"
    assert re.fullmatch(r"\S+ \S+Z \(\d+(\.\d+)?(ms|s)\)", got["finished"]), got["finished"]
    assert got["result"] == "3 steps completed"
    steps_table = table_rows(out.split("steps (3/3 succeeded):\n")[1])
    assert [(r["#"], r["ACTION"], r["STATUS"]) for r in steps_table] == [
        ("1", 'wait "pause"', "SUCCEEDED"),
        ("2", "cursor_position", "SUCCEEDED"),
        ("3", "screenshot", "SUCCEEDED"),
    ]
    assert steps_table[2]["DETAIL"].startswith("screenshot 1280x960, ")
    assert steps_table[1]["DETAIL"].startswith("at (")

    code, out, err = bytebot(capsys, "--target", api, "list", "--created-by", "carol")
    assert code == 0, err
    assert out.splitlines()[0].split() == LIST_HEADER
    rows = table_rows(out)
    assert len(rows) == 1
    assert rows[0]["ID"] == task_id and rows[0]["STATUS"] == "COMPLETED"
    assert rows[0]["PRIORITY"] == "HIGH" and rows[0]["TYPE"] == "SCHEDULED"
    assert rows[0]["CREATED_BY"] == "carol" and rows[0]["STEPS"] == "3/3"
    assert rows[0]["CREATED"].startswith(datetime.now(UTC).strftime("%Y-%m-%d"))

    # --json: the API's messages, for scripts (before or after the command name).
    code, out, _ = bytebot(capsys, "--target", api, "get", task_id, "--json")
    assert json.loads(out)["status"] == "TASK_STATUS_COMPLETED"
    code, out, _ = bytebot(capsys, "--json", "--target", api, "list", "--created-by", "carol")
    assert [t["id"] for t in json.loads(out)["tasks"]] == [task_id]
    code, out, _ = bytebot(capsys, "--target", api, "watch", task_id, "--json")
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["type"] for e in events] == ["TASK_EVENT_TYPE_SNAPSHOT"]  # already finished


def test_a_failing_task_watch_exits_1_with_the_error(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    off_screen = '{"moveMouse": {"coordinates": {"x": 50000, "y": 10}}}'
    code, out, err = bytebot(
        capsys, "--target", api, "--json", "create", "--description", "off screen",
        "--step", off_screen, "--scheduled-for", in_seconds(1.5),
    )
    assert code == 0, err
    task_id = json.loads(out)["id"]
    code, out, _ = bytebot(capsys, "--target", api, "watch", task_id)
    assert code == 1
    lines = out.splitlines()
    assert watch_lines(out)[-2][1:4] == ["FAILED", "-", "FAILED"]
    assert lines[-1].startswith("error: step 1 (move_mouse): INVALID_ARGUMENT")

    code, out, _ = bytebot(capsys, "--target", api, "list", "--status", "failed")
    rows = [r for r in table_rows(out) if r["ID"] == task_id]
    assert len(rows) == 1 and rows[0]["ERROR"].startswith("step 1 (move_mouse): INVALID_")
    assert len(rows[0]["ERROR"]) <= 60


def test_cancel_and_errors(
    api: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BYTEBOT_TASKS_ADDRESS", api)  # no --target from here on
    code, out, err = bytebot(
        capsys, "create", "--description", "tomorrow", "--scheduled-for", in_seconds(86400)
    )
    assert code == 0, err
    task_id = block(out)["task"]
    code, out, err = bytebot(capsys, "cancel", task_id, "--reason", "not needed")
    assert code == 0, err
    assert out.splitlines()[0] == f"task {task_id} cancelled"
    assert block(out.split("\n", 1)[1])["status"] == "CANCELLED"

    code, out, err = bytebot(capsys, "cancel", task_id)
    assert code == 1 and out == ""
    assert "FAILED_PRECONDITION" in err and "already cancelled" in err

    missing = "4b0c0f5e-3c1e-4b8e-9a57-000000000000"
    code, _, err = bytebot(capsys, "get", missing)
    assert code == 1 and "NOT_FOUND" in err and missing in err

    code, _, err = bytebot(capsys, "create")
    assert code == 2 and "INVALID_ARGUMENT" in err
    assert re.search(r"^  description: ", err, re.M) and re.search(r"^  steps: ", err, re.M)

    with pytest.raises(SystemExit, match="not one of low, medium, high, urgent"):
        main(["task", "list", "--priority", "critical"])

    code, _, err = bytebot(capsys, "--target", "127.0.0.1:1", "--timeout", "2", "list")
    assert code == 3 and "UNAVAILABLE" in err and "127.0.0.1:1" in err


def test_create_with_a_request_id_twice_makes_one_task(
    api: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = []
    for _ in range(2):
        code, out, err = bytebot(
            capsys, "--target", api, "--json", "create", "--description", "once only",
            "--created-by", "dora", "--request-id", "cli-once-1",
        )
        assert code == 0, err
        ids.append(json.loads(out)["id"])
    assert ids[0] == ids[1]
    code, out, _ = bytebot(capsys, "--target", api, "--json", "list", "--created-by", "dora")
    assert [t["id"] for t in json.loads(out)["tasks"]] == [ids[0]]
