"""A small process supervisor: start children in their own sessions, watch them, stop them
gracefully (SIGTERM, wait, SIGKILL the stragglers).

Children get their own session (`start_new_session`) so a Ctrl-C in the terminal reaches
only the supervisor, which then stops the children in order with SIGTERM. (Without it the
terminal would SIGINT every child at once, and our SIGTERM would arrive as a second signal,
which the runtime treats as "skip the grace period".)
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes]
    log_path: Path | None
    started_at: float = field(default_factory=time.monotonic)
    reported_exit: bool = False
    _log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def returncode(self) -> int | None:
        return self.process.poll()

    def log_tail(self, lines: int = 20) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16_384))
            text = f.read().decode("utf-8", "replace")
        return "\n".join(text.splitlines()[-lines:])


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    def __init__(self, log_dir: Path | None = None) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> Child:
        log_path: Path | None = None
        log_file: IO[bytes] | None = None
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log_path = self.log_dir / f"{name}.log"
            log_file = log_path.open("ab")
        process = subprocess.Popen(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log_file if log_file is not None else None,
            stderr=subprocess.STDOUT if log_file is not None else None,
            start_new_session=True,
        )
        child = Child(name, list(argv), process, log_path, _log_file=log_file)
        self.children.append(child)
        return child

    def exited(self) -> list[Child]:
        """Children that exited since the last call (each reported once)."""
        gone = []
        for child in self.children:
            if not child.reported_exit and child.returncode() is not None:
                child.reported_exit = True
                gone.append(child)
        return gone

    def stop_all(self, grace: float = 15.0) -> dict[str, int]:
        """SIGTERM every running child (newest first), wait up to `grace` seconds for all,
        SIGKILL the stragglers. Returns name → exit code."""
        for child in reversed(self.children):
            if child.returncode() is None:
                try:
                    child.process.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        for child in self.children:
            remaining = deadline - time.monotonic()
            try:
                child.process.wait(timeout=max(0.0, remaining))
            except subprocess.TimeoutExpired:
                pass
        codes: dict[str, int] = {}
        for child in self.children:
            if child.returncode() is None:
                child.process.kill()
                child.process.wait()
            codes[child.name] = child.process.returncode
            if child._log_file is not None:
                child._log_file.close()
                child._log_file = None
        return codes


__all__ = ["Child", "Supervisor", "describe_exit"]
