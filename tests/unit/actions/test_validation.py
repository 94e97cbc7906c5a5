from __future__ import annotations

from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import action_pb2
from bytebot.computer.v1 import computer_pb2 as pb
from google.protobuf.duration_pb2 import Duration

from libs.actions.validation import (
    DESKTOP_ACTIONS,
    validate_action,
    validate_on_screen,
    validate_request,
)


def fields(violations) -> list[str]:
    return [v.field for v in violations]


def test_field_paths_carry_the_step_prefix() -> None:
    step = action_pb2.Action(click_mouse=pb.ClickMouseRequest(click_count=11, hold_keys=["x?"]))
    assert fields(validate_action(step, "steps[3]")) == [
        "steps[3].click_mouse.hold_keys[0]", "steps[3].click_mouse.click_count"]
    assert fields(validate_request("click_mouse", step.click_mouse)) == [
        "hold_keys[0]", "click_count"]


def test_an_action_must_be_set_and_names_are_bounded() -> None:
    assert fields(validate_action(action_pb2.Action())) == ["action"]
    long_name = action_pb2.Action(name="n" * 201, wait=pb.WaitRequest())
    assert fields(validate_action(long_name)) == ["name"]


def test_valid_defaults_pass() -> None:
    ok = [
        action_pb2.Action(move_mouse=pb.MoveMouseRequest(coordinates=common_pb2.Point(x=0, y=0))),
        action_pb2.Action(click_mouse=pb.ClickMouseRequest()),
        action_pb2.Action(scroll=pb.ScrollRequest(direction=pb.SCROLL_DIRECTION_DOWN)),
        action_pb2.Action(type_keys=pb.TypeKeysRequest(keys=["ctrl", "c"])),
        action_pb2.Action(type_text=pb.TypeTextRequest(text="x" * 5000,
                                                       delay=Duration(seconds=30))),
        action_pb2.Action(paste_text=pb.PasteTextRequest(text="x" * 10_000)),
        action_pb2.Action(wait=pb.WaitRequest(duration=Duration(seconds=300))),
        action_pb2.Action(screenshot=pb.ScreenshotRequest(scale=1.0, quality=100)),
        action_pb2.Action(find_text=action_pb2.FindTextAction(text="OK")),
        action_pb2.Action(click_text=action_pb2.ClickTextAction(text="OK", click_count=2)),
    ]
    for step in ok:
        assert validate_action(step) == [], step


def test_ocr_steps_are_validated() -> None:
    bad = action_pb2.Action(click_text=action_pb2.ClickTextAction(text="", click_count=11))
    assert fields(validate_action(bad)) == ["click_text.text", "click_text.click_count"]


def test_sensitive_text_is_never_quoted() -> None:
    secret = "hunter2" * 1000
    for violation in validate_request("type_text", pb.TypeTextRequest(text=secret)):
        assert "hunter2" not in violation.description
    for violation in validate_request("paste_text", pb.PasteTextRequest(text=secret * 2)):
        assert "hunter2" not in violation.description


def test_screen_checks_are_separate() -> None:
    request = pb.DragMouseRequest(path=[common_pb2.Point(x=5, y=5), common_pb2.Point(x=800, y=5)])
    assert validate_request("drag_mouse", request) == []
    assert fields(validate_on_screen("drag_mouse", request, 640, 480)) == ["path[1]"]
    assert validate_on_screen("drag_mouse", request, 1280, 960) == []


def test_every_desktop_action_has_a_validator() -> None:
    for name in DESKTOP_ACTIONS:
        request = getattr(action_pb2.Action(), name)
        assert isinstance(validate_request(name, request), list)
