"""Our own Xvfb, for when no display is configured.

Xvfb picks a free display number itself and writes it to the file descriptor given by
`-displayfd`, so concurrent services (and test runs) never race for a fixed `:N`.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO


class XvfbError(RuntimeError):
    """Xvfb is missing, failed to start, or did not report a display in time."""


def xvfb_installed() -> bool:
    return shutil.which("Xvfb") is not None


@dataclass
class XvfbProcess:
    """A running Xvfb child process and the display it serves (`:N`)."""

    display: str
    process: subprocess.Popen[bytes] = field(repr=False)

    @classmethod
    def start(cls, screen: str = "1280x960x24", timeout: float = 15.0) -> XvfbProcess:
        """Start Xvfb on a free display; return once it accepts connections."""
        binary = shutil.which("Xvfb")
        if binary is None:
            raise XvfbError("no display is configured and Xvfb is not installed")
        read_fd, write_fd = os.pipe()
        # A file, not a pipe: Xvfb logs for its whole life and nobody reads a pipe after start.
        errors = tempfile.TemporaryFile()
        try:
            process = subprocess.Popen(
                [binary, "-displayfd", str(write_fd), "-screen", "0", screen,
                 "-nolisten", "tcp", "-noreset", "+extension", "XFIXES"],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=errors,
                start_new_session=True,  # a Ctrl+C meant for us must not kill it before cleanup
            )
        finally:
            os.close(write_fd)
        try:
            number = _read_display_number(read_fd, process, timeout, errors)
        except BaseException:
            _terminate(process)
            raise
        finally:
            os.close(read_fd)
            errors.close()
        return cls(display=f":{number}", process=process)

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        _terminate(self.process)


def _read_display_number(
    fd: int, process: subprocess.Popen[bytes], timeout: float, errors: IO[bytes]
) -> int:
    deadline = time.monotonic() + timeout
    buffer = b""
    while b"\n" not in buffer:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise XvfbError(f"Xvfb did not report its display within {timeout:g} s")
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:  # Xvfb closed the pipe without a number: it failed
                break
            buffer += chunk
        elif process.poll() is not None:
            break
    if b"\n" not in buffer:
        process.wait(timeout=5)
        errors.seek(0)
        log = errors.read().decode(errors="replace")[-500:].strip()
        raise XvfbError(f"Xvfb exited with status {process.returncode}: {log}")
    return int(buffer.split(b"\n", 1)[0])


def _terminate(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
