"""The text `bytebot task` prints, from API messages (no server needed)."""

from __future__ import annotations

from bytebot.computer.v1 import action_pb2, computer_pb2
from bytebot.tasks.v1 import tasks_pb2 as T

from services.tasks.task_cli import LIST_COLUMNS, event_line, render_list, render_task


def _task(**fields: object) -> T.Task:
    values: dict[str, object] = {
        "id": "4b0c0f5e-3c1e-4b8e-9a57-000000000001",
        "description": "press submit",
        "status": T.TASK_STATUS_FAILED,
        "priority": T.TASK_PRIORITY_URGENT,
        "type": T.TASK_TYPE_IMMEDIATE,
        "attempts": 2,
        "max_attempts": 3,
    }
    task = T.Task(**{**values, **fields})
    task.created_at.FromSeconds(1_800_000_000)
    task.steps.append(action_pb2.Action(screenshot=computer_pb2.ScreenshotRequest()))
    task.steps.append(
        action_pb2.Action(name="go", click_text=action_pb2.ClickTextAction(text="Submit"))
    )
    task.step_results.add(index=0, status=T.STEP_STATUS_SUCCEEDED, attempts=1)
    task.step_results.add(index=1, status=T.STEP_STATUS_FAILED, attempts=3, error="not found")
    return task


def test_list_is_an_aligned_table_with_short_errors_and_the_next_page() -> None:
    long_error = "step 2 (click_text): " + "x" * 200
    response = T.ListTasksResponse(
        tasks=[_task(error=long_error), _task(created_by="bob")], next_page_token="tok"
    )
    lines = render_list(response).splitlines()
    assert lines[0].split() == [c.upper() for c in LIST_COLUMNS]
    status_col = lines[0].index("STATUS")
    assert all(line[status_col:].startswith("FAILED") for line in lines[1:3])
    assert lines[1].endswith("…") and len(lines[1].split("step 2")[1]) < 60
    assert "2027-01-15 08:00:00Z" in lines[1] and "1/2" in lines[1]
    assert lines[3] == "more: --page-token tok"
    assert render_list(T.ListTasksResponse()) == "no tasks"


def test_task_block_and_steps_table() -> None:
    text = render_task(_task(error="step 2 (click_text): not found", created_by="ann"))
    assert "status       FAILED (attempt 2 of 3)" in text
    assert "created      2027-01-15 08:00:00Z by ann" in text
    assert "error        step 2 (click_text): not found" in text
    steps = text.split("steps (1/2 succeeded):\n")[1].splitlines()
    assert steps[0].split() == ["#", "ACTION", "STATUS", "ATTEMPTS", "DURATION", "DETAIL"]
    assert steps[2].split()[:5] == ["2", "click_text", '"go"', "FAILED", "3"]
    assert steps[2].endswith("not found")


def test_watch_line_names_the_step_and_its_action() -> None:
    event = T.WatchTaskResponse(
        type=T.TASK_EVENT_TYPE_STEP_STARTED,
        step_index=1,
        message="step 2 (click_text) started",
        task=_task(status=T.TASK_STATUS_RUNNING),
    )
    event.time.FromMilliseconds(1_800_000_000_250)
    # Fixed-width columns, so lines printed one at a time still line up.
    assert event_line(event) == (
        "08:00:00.250  STEP_STARTED      "
        'step 2/2 click_text "go"      RUNNING    step 2 (click_text) started'
    )
    event.step_index = -1
    event.type = T.TASK_EVENT_TYPE_SNAPSHOT
    event.message = ""
    assert "SNAPSHOT" in event_line(event) and "1/2 steps done" in event_line(event)
