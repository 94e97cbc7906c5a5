"""Every bound of the reference, violated once through the gRPC API: INVALID_ARGUMENT with
the field named, and nothing happens on the display."""

from __future__ import annotations

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import computer_pb2 as pb
from google.protobuf.duration_pb2 import Duration

from libs.status.errors import field_violations


def P(x: int, y: int) -> common_pb2.Point:
    return common_pb2.Point(x=x, y=y)


TWO = [P(1, 1), P(2, 2)]

CASES = [
    ("ClickMouse", pb.ClickMouseRequest(click_count=11), "click_count"),
    ("ClickMouse", pb.ClickMouseRequest(click_count=-1), "click_count"),
    ("Scroll", pb.ScrollRequest(direction=pb.SCROLL_DIRECTION_UP, scroll_count=101),
     "scroll_count"),
    ("Scroll", pb.ScrollRequest(scroll_count=1), "direction"),
    ("TypeKeys", pb.TypeKeysRequest(keys=["a"], delay=Duration(seconds=30, nanos=1)), "delay"),
    ("TypeKeys", pb.TypeKeysRequest(keys=["a"], delay=Duration(seconds=-1)), "delay"),
    ("TypeKeys", pb.TypeKeysRequest(), "keys"),
    ("TypeText", pb.TypeTextRequest(text="a", delay=Duration(seconds=31)), "delay"),
    ("Wait", pb.WaitRequest(duration=Duration(seconds=301)), "duration"),
    ("TraceMouse", pb.TraceMouseRequest(path=[P(1, 1)]), "path"),
    ("TraceMouse", pb.TraceMouseRequest(path=[P(1, 1)] * 1001), "path"),
    ("DragMouse", pb.DragMouseRequest(path=[P(1, 1)]), "path"),
    ("DragMouse", pb.DragMouseRequest(path=[P(1, 1)] * 1001), "path"),
    ("TypeText", pb.TypeTextRequest(text="x" * 5001), "text"),
    ("TypeText", pb.TypeTextRequest(text=""), "text"),
    ("PasteText", pb.PasteTextRequest(text="x" * 10_001), "text"),
    ("PressMouse", pb.PressMouseRequest(), "press"),
    ("PressKeys", pb.PressKeysRequest(keys=["a"]), "press"),
    ("MoveMouse", pb.MoveMouseRequest(), "coordinates"),
    ("MoveMouse", pb.MoveMouseRequest(coordinates=P(1280, 10)), "coordinates"),
    ("MoveMouse", pb.MoveMouseRequest(coordinates=P(10, 960)), "coordinates"),
    ("MoveMouse", pb.MoveMouseRequest(coordinates=P(-1, 10)), "coordinates"),
    ("ClickMouse", pb.ClickMouseRequest(coordinates=P(5000, 5)), "coordinates"),
    ("DragMouse", pb.DragMouseRequest(path=[P(1, 1), P(1300, 1)]), "path[1]"),
    ("Scroll", pb.ScrollRequest(coordinates=P(1, 99999), direction=1), "coordinates"),
    ("ClickMouse", pb.ClickMouseRequest(button=9), "button"),
    ("Screenshot", pb.ScreenshotRequest(quality=101), "quality"),
    ("Screenshot", pb.ScreenshotRequest(scale=1.5), "scale"),
    ("Screenshot", pb.ScreenshotRequest(
        region=common_pb2.Rect(x=1200, y=0, width=100, height=10)), "region"),
    ("Screenshot", pb.ScreenshotRequest(region=common_pb2.Rect(x=0, y=0, width=0, height=10)),
     "region"),
    ("WriteFile", pb.WriteFileRequest(path="", data=b"x"), "path"),
    ("ReadFile", pb.ReadFileRequest(path="a" * 4097), "path"),
    ("Application", pb.ApplicationRequest(application=""), "application"),
    ("Application", pb.ApplicationRequest(application="notepad.exe"), "application"),
]


@pytest.mark.parametrize(("method", "request_", "field"), CASES,
                         ids=[f"{m}-{f}-{i}" for i, (m, _, f) in enumerate(CASES)])
def test_bound_violated_is_invalid_argument_naming_the_field(stub, method, request_, field):
    with pytest.raises(grpc.RpcError) as failure:
        getattr(stub, method)(request_, timeout=5)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, failure.value.details()
    assert field in [v.field for v in field_violations(failure.value)], failure.value.details()


def test_write_file_over_50_mb_is_invalid_argument(stub) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        stub.WriteFile(pb.WriteFileRequest(path="big.bin", data=b"\0" * (50 * 1024 * 1024 + 1)))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in field_violations(failure.value)] == ["data"]


def test_unknown_key_is_named(stub) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        stub.TypeKeys(pb.TypeKeysRequest(keys=["ctrl", "Hyperspace"]))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    (violation,) = field_violations(failure.value)
    assert violation.field == "keys[1]" and "'Hyperspace'" in violation.description


def test_bounds_at_the_limit_are_accepted(stub) -> None:
    stub.Wait(pb.WaitRequest(duration=Duration(nanos=1)))
    stub.MoveMouse(pb.MoveMouseRequest(coordinates=P(1279, 959)))
    stub.TraceMouse(pb.TraceMouseRequest(path=[P(i % 1280, 5) for i in range(1000)]))
    reply = stub.CursorPosition(pb.CursorPositionRequest())
    assert (reply.position.x, reply.position.y) == (999, 5)
