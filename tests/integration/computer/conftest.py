"""Fixtures: a real Xvfb, the computer service on it (in-process, on a background event loop,
called through real gRPC), and the Tk recorder application that logs every event it gets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from bytebot.computer.v1 import computer_pb2_grpc

from services.computer.xvfb import XvfbProcess
from tests.support.service_thread import ServiceThread

RECORDER = Path(__file__).with_name("recorder_app.py")
MAX_MESSAGE = 64 * 1024 * 1024

if shutil.which("Xvfb") is None:  # pragma: no cover - CI installs it
    pytest.skip("Xvfb is not installed", allow_module_level=True)


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def xvfb() -> Iterator[XvfbProcess]:
    process = XvfbProcess.start("1280x960x24")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="session")
def file_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("desktop")


def service_overrides(display: str, file_root: Path) -> dict[str, Any]:
    """The computer service's settings for these tests: `display`, files under `file_root`,
    the recorder app as `recorder` (launched into `file_root/launched`), a missing program."""
    return {
        "display": display,
        "file_root": str(file_root),
        # Bytebot's 150 ms pauses would only slow the suite; one test checks the default.
        "click_interval_seconds": 0.02,
        "scroll_interval_seconds": 0.02,
        "applications": {
            "recorder": {
                "command": [sys.executable, str(RECORDER), str(file_root / "launched")],
                "window_class": "recorder",
            },
            "missingapp": {"command": ["bytebot-no-such-program"], "window_class": "x"},
        },
        "log_level": "warning",
    }


@pytest.fixture(scope="session")
def service(xvfb: XvfbProcess, file_root: Path) -> Iterator[ServiceThread]:
    from services.computer.main import ENTRY

    overrides = service_overrides(xvfb.display, file_root)
    runner = ServiceThread(ENTRY, overrides).start()
    try:
        yield runner
    finally:
        runner.stop()


@pytest.fixture(scope="session")
def channel(service: ServiceThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(
        service.service.grpc_target,
        options=[("grpc.max_send_message_length", MAX_MESSAGE),
                 ("grpc.max_receive_message_length", MAX_MESSAGE)],
    ) as ch:
        yield ch


@pytest.fixture(scope="session")
def stub(channel: grpc.Channel) -> computer_pb2_grpc.ComputerServiceStub:
    return computer_pb2_grpc.ComputerServiceStub(channel)


class Recorder:
    """The running recorder app: its events and text field, read from its files."""

    def __init__(self, out_dir: Path, process: subprocess.Popen[bytes]) -> None:
        self.out_dir = out_dir
        self.process = process
        self.layout: dict[str, Any] = {}
        self._mark = 0

    def events(self) -> list[dict[str, Any]]:
        path = self.out_dir / "events.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]

    def mark(self) -> None:
        """Later `new_events()` return only events recorded after this call."""
        self._mark = len(self.events())

    def new_events(self, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        return [e for e in self.events()[self._mark:] if not kinds or e["type"] in kinds]

    def text(self) -> str:
        path = self.out_dir / "text.txt"
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def wait_text(self, expected: str, timeout: float = 5.0) -> None:
        try:
            wait_until(lambda: self.text() == expected, timeout, f"text {expected!r}")
        except AssertionError:
            raise AssertionError(f"text is {self.text()!r}, expected {expected!r}") from None

    def text_centre(self) -> tuple[int, int]:
        x, y, w, h = self.layout["text"]
        return x + w // 2, y + h // 2


def launch_recorder(display: str, out_dir: Path) -> Recorder:
    out_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [sys.executable, str(RECORDER), str(out_dir)],
        env=dict(os.environ, DISPLAY=display),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    recorder = Recorder(out_dir, process)

    def ready() -> dict[str, Any] | None:
        if process.poll() is not None:
            raise AssertionError(f"recorder exited: {process.stderr.read().decode()}")  # type: ignore[union-attr]
        return next((e for e in recorder.events() if e["type"] == "ready"), None)

    recorder.layout = wait_until(ready, 15, "the recorder window")
    return recorder


@pytest.fixture
def recorder(xvfb: XvfbProcess, tmp_path: Path) -> Iterator[Recorder]:
    rec = launch_recorder(xvfb.display, tmp_path / "recorder")
    try:
        yield rec
    finally:
        rec.process.terminate()
        try:
            rec.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            rec.process.kill()
            rec.process.wait(timeout=5)
