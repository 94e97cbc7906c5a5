"""Mouse and keyboard actions through the gRPC API, checked by what a real Tk app received."""

from __future__ import annotations

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import computer_pb2 as pb
from google.protobuf.duration_pb2 import Duration
from Xlib.display import Display

from tests.integration.computer.conftest import Recorder, wait_until

SHIFT_MASK, CONTROL_MASK, BUTTON1_MASK = 0x1, 0x4, 0x100


def P(x: int, y: int) -> common_pb2.Point:
    return common_pb2.Point(x=x, y=y)


def click_into_text(stub, recorder: Recorder) -> None:
    x, y = recorder.text_centre()
    stub.ClickMouse(pb.ClickMouseRequest(coordinates=P(x, y)))
    wait_until(lambda: recorder.new_events(("ButtonRelease",)), what="the click")


def assert_follows(seen: list[tuple[int, int]], path: list[tuple[int, int]]) -> None:
    """`seen` visits the path's points in order and ends at its end. (Tk compresses motion
    events it reads in one batch, so intermediate points may be missing from its log; the
    exact point-by-point path is checked with a raw X client in test_desktop.py.)"""
    assert seen and seen[-1] == path[-1], seen
    remaining = iter(path)
    assert all(point in remaining for point in seen), (seen, path)


def pressed_keycodes(display: str) -> set[int]:
    d = Display(display)
    try:
        keymap = d.query_keymap()
    finally:
        d.close()
    return {i * 8 + b for i, byte in enumerate(keymap) for b in range(8) if byte >> b & 1}


def test_move_and_cursor_position(stub) -> None:
    reply = stub.MoveMouse(pb.MoveMouseRequest(coordinates=P(321, 123)))
    assert (reply.cursor.x, reply.cursor.y) == (321, 123)
    position = stub.CursorPosition(pb.CursorPositionRequest()).position
    assert (position.x, position.y) == (321, 123)


def test_click_into_text_field_and_type_text_reads_back(stub, recorder: Recorder) -> None:
    click_into_text(stub, recorder)
    press = recorder.new_events(("ButtonPress",))[0]
    assert press["widget"] == "text" and press["num"] == 1
    text = "Hello, World! Caps ABC xyz 0123456789\n`~!@#$%^&*()-_=+[{]}\\|;:'\",<.>/?\tend"
    stub.TypeText(pb.TypeTextRequest(text=text))
    recorder.wait_text(text)


def test_type_text_outside_the_keymap_uses_spare_keycodes(stub, recorder: Recorder) -> None:
    click_into_text(stub, recorder)
    text = "héllo wörld — €5 → ok ✓ ñ"
    stub.TypeText(pb.TypeTextRequest(text=text, delay=Duration(nanos=1_000_000)))
    recorder.wait_text(text)
    # Typing again reuses the bindings (no rebinding race) and still reads back.
    stub.TypeText(pb.TypeTextRequest(text="€→"))
    recorder.wait_text(text + "€→")


def test_paste_text_through_our_clipboard(stub, recorder: Recorder) -> None:
    click_into_text(stub, recorder)
    stub.PasteText(pb.PasteTextRequest(text="pasted ✓ text\nline 2", sensitive=True))
    recorder.wait_text("pasted ✓ text\nline 2")


def test_type_keys_chord_holds_modifiers_then_releases(stub, recorder: Recorder, xvfb) -> None:
    click_into_text(stub, recorder)
    recorder.mark()
    stub.TypeKeys(pb.TypeKeysRequest(keys=["ctrl", "shift", "A"], delay=Duration(nanos=20_000_000)))
    events = wait_until(lambda: len(recorder.new_events(("KeyRelease",))) >= 3 and
                        recorder.new_events(("KeyPress", "KeyRelease")), what="the chord")
    presses = [e["keysym"] for e in events if e["type"] == "KeyPress"]
    assert presses[:2] == ["Control_L", "Shift_L"]
    a_press = next(e for e in events if e["type"] == "KeyPress" and e["keysym"] in ("a", "A"))
    assert a_press["state"] & CONTROL_MASK and a_press["state"] & SHIFT_MASK
    assert pressed_keycodes(xvfb.display) == set()


def test_press_keys_down_stays_down_until_up(stub, recorder: Recorder, xvfb) -> None:
    stub.PressKeys(pb.PressKeysRequest(keys=["LeftShift"], press=pb.PRESS_DOWN))
    try:
        assert len(pressed_keycodes(xvfb.display)) == 1
        click_into_text(stub, recorder)
        stub.TypeText(pb.TypeTextRequest(text="abc"))
        recorder.wait_text("ABC")  # Shift held by press_keys applies to the typed letters
    finally:
        stub.PressKeys(pb.PressKeysRequest(keys=["LeftShift"], press=pb.PRESS_UP))
    assert pressed_keycodes(xvfb.display) == set()


def test_keys_are_released_when_an_action_is_interrupted(stub, xvfb) -> None:
    # The chord is held for 10 s; the client gives up after 0.3 s, part-way through.
    with pytest.raises(grpc.RpcError) as failure:
        stub.TypeKeys(pb.TypeKeysRequest(keys=["ctrl", "alt", "shift"],
                                         delay=Duration(seconds=10)), timeout=0.3)
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    wait_until(lambda: pressed_keycodes(xvfb.display) == set(), 3, "all keys released")
    # The display thread is free again straight away (the 10 s hold was abandoned).
    stub.MoveMouse(pb.MoveMouseRequest(coordinates=P(5, 5)), timeout=2)


def test_click_buttons_and_counts(stub, recorder: Recorder) -> None:
    recorder.mark()
    stub.ClickMouse(pb.ClickMouseRequest(coordinates=P(100, 100), button=pb.MOUSE_BUTTON_RIGHT))
    stub.ClickMouse(pb.ClickMouseRequest(coordinates=P(110, 100), button=pb.MOUSE_BUTTON_MIDDLE))
    stub.ClickMouse(pb.ClickMouseRequest(coordinates=P(120, 100), click_count=3,
                                         hold_keys=["ctrl"]))
    presses = wait_until(lambda: len(recorder.new_events(("ButtonPress",))) >= 5 and
                         recorder.new_events(("ButtonPress",)), what="5 button presses")
    assert [(e["num"], e["x_root"]) for e in presses] == [
        (3, 100), (2, 110), (1, 120), (1, 120), (1, 120)]
    assert all(e["state"] & CONTROL_MASK for e in presses[2:])
    assert not presses[0]["state"] & CONTROL_MASK


def test_press_mouse_down_move_up(stub, recorder: Recorder) -> None:
    recorder.mark()
    stub.PressMouse(pb.PressMouseRequest(coordinates=P(50, 50), press=pb.PRESS_DOWN))
    stub.MoveMouse(pb.MoveMouseRequest(coordinates=P(90, 60)))
    stub.PressMouse(pb.PressMouseRequest(press=pb.PRESS_UP))
    events = wait_until(lambda: recorder.new_events(("ButtonRelease",)) and
                        recorder.new_events(("ButtonPress", "Motion", "ButtonRelease")))
    events = events[next(i for i, e in enumerate(events) if e["type"] == "ButtonPress"):]
    assert (events[0]["x_root"], events[0]["y_root"]) == (50, 50)
    assert any(e["type"] == "Motion" and e["state"] & BUTTON1_MASK for e in events)
    assert (events[-1]["x_root"], events[-1]["y_root"]) == (90, 60)


def test_drag_along_a_path(stub, recorder: Recorder) -> None:
    path = [(100, 100), (150, 120), (200, 140), (250, 160), (300, 150)]
    recorder.mark()
    reply = stub.DragMouse(pb.DragMouseRequest(path=[P(x, y) for x, y in path]))
    assert (reply.cursor.x, reply.cursor.y) == path[-1]
    events = wait_until(lambda: recorder.new_events(("ButtonRelease",)) and
                        recorder.new_events(("ButtonPress", "Motion", "ButtonRelease")))
    events = events[next(i for i, e in enumerate(events) if e["type"] == "ButtonPress"):]
    assert (events[0]["x_root"], events[0]["y_root"]) == (100, 100)
    dragged = [(e["x_root"], e["y_root"]) for e in events
               if e["type"] == "Motion" and e["state"] & BUTTON1_MASK]
    assert_follows(dragged, path[1:])
    assert events[-1]["type"] == "ButtonRelease"
    assert (events[-1]["x_root"], events[-1]["y_root"]) == path[-1]


def test_trace_mouse_holds_keys_along_the_path(stub, recorder: Recorder, xvfb) -> None:
    path = [(400, 50), (420, 60), (440, 70)]
    recorder.mark()
    stub.TraceMouse(pb.TraceMouseRequest(path=[P(x, y) for x, y in path], hold_keys=["shift"]))
    wait_until(lambda: recorder.new_events(("KeyRelease",)), what="shift released")
    events = recorder.new_events(("Motion", "KeyPress", "KeyRelease"))
    shift_down = next(i for i, e in enumerate(events) if e["type"] == "KeyPress")
    traced = [e for e in events[shift_down:] if e["type"] == "Motion"]
    assert_follows([(e["x_root"], e["y_root"]) for e in traced], path[1:])
    assert all(e["state"] & SHIFT_MASK for e in traced)
    assert pressed_keycodes(xvfb.display) == set()


# Tk 8.6 reports the horizontal wheel buttons 6/7 as 4/5 with Shift (its own convention).
@pytest.mark.parametrize(("direction", "button", "shift"), [
    (pb.SCROLL_DIRECTION_UP, 4, 0), (pb.SCROLL_DIRECTION_DOWN, 5, 0),
    (pb.SCROLL_DIRECTION_LEFT, 4, SHIFT_MASK), (pb.SCROLL_DIRECTION_RIGHT, 5, SHIFT_MASK)])
def test_scroll_steps(stub, recorder: Recorder, direction: int, button: int, shift: int) -> None:
    recorder.mark()
    stub.Scroll(pb.ScrollRequest(coordinates=P(200, 80), direction=direction, scroll_count=3))
    presses = wait_until(lambda: len(recorder.new_events(("ButtonPress",))) >= 3 and
                         recorder.new_events(("ButtonPress",)), what="3 wheel steps")
    assert [(e["num"], e["x_root"], e["y_root"], e["state"] & SHIFT_MASK) for e in presses] == [
        (button, 200, 80, shift)] * 3


# Known open bug (services/computer/README.md, issue 5's note): when spare keycodes are
# recycled, the Tk client now and then translates part of a rebound stretch with the keycodes'
# previous bindings (a stale client keymap). It failed 2 of 2 clean-clone CI runs on
# 2026-12-03, so it is marked xfail (not strict: a pass shows as XPASS) until it is fixed;
# the typed-text tests above still cover the spare-keycode path without recycling.
@pytest.mark.xfail(reason="stale Tk keymap after keycode recycling: known, not understood",
                   strict=False)
def test_more_unmapped_characters_than_spare_keycodes(stub, recorder: Recorder) -> None:
    # 48 Greek letters: more than Xvfb's ~19 spare keycodes, so bindings are recycled.
    text = "αβγδεζηθικλμνξοπρστυφχψω ΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩ"
    click_into_text(stub, recorder)
    stub.TypeText(pb.TypeTextRequest(text=text))
    recorder.wait_text(text)
