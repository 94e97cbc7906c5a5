"""What `bytebot up` needs to run the demo application (libs/stack/demo_app.py) on its own
Xvfb: whether a display is configured already, the Xvfb screen, the demo's command line,
its readiness and its row in the endpoint table."""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from pathlib import Path

from libs.stack.supervisor import Child, describe_exit

APP = Path(__file__).with_name("demo_app.py")
# the computer service's own default (services/computer/config.py), so the screen the stack
# starts is the one the service would have started
DEFAULT_SCREEN = "1280x960x24"


class DemoError(RuntimeError):
    """The demo window did not come up; the message has its last log lines."""


def display_configured(env: Mapping[str, str]) -> bool:
    """A display of the user's (DISPLAY or the computer service's BYTEBOT_DISPLAY)."""
    return bool(env.get("BYTEBOT_DISPLAY") or env.get("DISPLAY"))


def screen(env: Mapping[str, str]) -> str:
    return env.get("BYTEBOT_XVFB_SCREEN") or DEFAULT_SCREEN


def command(events: Path) -> list[str]:
    # the file, not `-m`: the app is plain tkinter and needs nothing of this repository
    return [sys.executable, str(APP), "--events", str(events)]


def wait_ready(child: Child, events: Path, deadline: float) -> None:
    """Until the window is mapped (its "ready" event), so the first task finds it."""
    while True:
        if events.exists() and "ready" in events.read_text(encoding="utf-8").split("\n"):
            return
        code = child.returncode()
        if code is not None or time.monotonic() > deadline:
            state = describe_exit(code) if code is not None else "not ready in time"
            tail = child.log_tail()
            raise DemoError(
                f"demo application {state} (`bytebot up --no-demo` skips it)"
                + (f"; last log lines:\n{tail}" if tail else "")
            )
        time.sleep(0.1)


def row(child: Child, display: str, var_dir: Path) -> dict[str, str]:
    """The demo's line of the endpoint table: where it draws and where its log is."""
    return {
        "service": "demo",
        "pid": str(child.pid),
        "grpc": "-",
        "metrics": "-",
        "health": f"DISPLAY={display}",
        "display": display,
        "log": str(child.log_path) if child.log_path else "-",
        "events": str(var_dir / "demo" / "events.log"),
    }


__all__ = ["APP", "DemoError", "command", "display_configured", "row", "screen", "wait_ready"]
