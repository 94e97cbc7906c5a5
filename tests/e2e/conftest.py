"""The end-to-end fixtures: a real Xvfb, the demo window of `bytebot up` (a Tk form with a
Submit button: libs/stack/demo_app.py), an OTLP
trace receiver, and the whole stack started by `bytebot up` on that display."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from libs.observability.testing.otlp_receiver import OtlpReceiver
from libs.stack.demo import APP
from tests.support.stack import UpProcess

SYSTEM_PYTHON = "/usr/bin/python3"


def _tk_available() -> bool:
    if not os.path.exists(SYSTEM_PYTHON):
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import tkinter"], capture_output=True)
    return probe.returncode == 0


@pytest.fixture(scope="module")
def display():
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed")
    from services.computer.xvfb import XvfbProcess

    xvfb = XvfbProcess.start()
    try:
        yield xvfb.display
    finally:
        xvfb.stop()


@pytest.fixture(scope="module")
def submit_window(display, tmp_path_factory):
    if not _tk_available():
        pytest.skip("python3-tk is not installed for /usr/bin/python3")
    clicks = tmp_path_factory.mktemp("app") / "clicks.log"
    app = subprocess.Popen(
        [SYSTEM_PYTHON, str(APP), "--events", str(clicks)],
        env={**os.environ, "DISPLAY": display},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not (clicks.exists() and "ready" in clicks.read_text()):
        if app.poll() is not None or time.monotonic() > deadline:
            app.kill()
            raise RuntimeError("the Submit window did not come up")
        time.sleep(0.1)
    try:
        yield clicks
    finally:
        app.terminate()
        app.wait(10)


@pytest.fixture(scope="module")
def otlp():
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="module")
def stack(display, otlp, tmp_path_factory):
    up = UpProcess(tmp_path_factory.mktemp("stack") / "var", {
        "DISPLAY": display,
        "OTEL_TRACES_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.endpoint,
        "OTEL_EXPORTER_OTLP_INSECURE": "true",
        "OTEL_BSP_SCHEDULE_DELAY": "200",
    })
    try:
        yield up
    finally:
        up.stop()
