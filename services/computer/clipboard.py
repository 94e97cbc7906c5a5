"""The X CLIPBOARD selection, owned and served by this process (no xclip/xsel needed).

X has no clipboard storage: the owner of the CLIPBOARD selection answers each
`SelectionRequest` with the data. Answering must happen while other clients paste, so the
owner runs on its own thread with its own display connection (Xlib connections are not
thread-safe), and the display thread only hands it text through `set_text()`.

Serves TARGETS, UTF8_STRING, STRING, TEXT and text/plain(;charset=utf-8). Text up to
paste_text's 10,000 characters fits in one property (no INCR transfer needed).
"""

from __future__ import annotations

import os
import queue
import select
import threading
from contextlib import suppress

from Xlib import X, Xatom
from Xlib import error as xerror
from Xlib.display import Display
from Xlib.protocol import event

_TEXT_TARGETS = ("UTF8_STRING", "text/plain;charset=utf-8", "STRING", "TEXT", "text/plain")


class ClipboardOwner:
    """Owns CLIPBOARD on a display and serves its text (see the module comment)."""

    def __init__(self, display_name: str) -> None:
        self._display = Display(display_name)
        self._window = self._display.screen().root.create_window(
            0, 0, 1, 1, 0, X.CopyFromParent, event_mask=X.PropertyChangeMask
        )
        atom = self._display.intern_atom
        self._clipboard = atom("CLIPBOARD")
        self._targets = atom("TARGETS")
        self._utf8 = atom("UTF8_STRING")
        self._text_atoms = {atom(name) for name in _TEXT_TARGETS}
        self._text: bytes = b""
        self._commands: queue.Queue[tuple[bytes, threading.Event]] = queue.Queue()
        self._wake_r, self._wake_w = os.pipe()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="x11-clipboard", daemon=True)
        self._thread.start()

    def set_text(self, text: str, timeout: float = 5.0) -> None:
        """Make `text` the clipboard content; returns once this process owns CLIPBOARD."""
        if not self._thread.is_alive():
            raise TimeoutError("the clipboard's connection to the display is closed")
        done = threading.Event()
        self._commands.put((text.encode("utf-8"), done))
        os.write(self._wake_w, b"x")
        if not done.wait(timeout):
            raise TimeoutError("the clipboard thread did not take the selection in time")

    def close(self) -> None:
        self._stopping.set()
        with suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        os.close(self._wake_r)
        os.close(self._wake_w)

    # --- clipboard thread --------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._serve_commands()
                while self._display.pending_events():
                    self._handle(self._display.next_event())
                select.select([self._display.fileno(), self._wake_r], [], [], 1.0)
                if select.select([self._wake_r], [], [], 0)[0]:
                    os.read(self._wake_r, 512)
        except (xerror.ConnectionClosedError, OSError):
            pass  # the display went away; set_text() reports it, readiness already does
        finally:
            with suppress(Exception):
                self._display.close()

    def _serve_commands(self) -> None:
        while True:
            try:
                text, done = self._commands.get_nowait()
            except queue.Empty:
                return
            self._text = text
            self._window.set_selection_owner(self._clipboard, X.CurrentTime)
            self._display.sync()
            done.set()

    def _handle(self, ev: object) -> None:
        if isinstance(ev, event.SelectionClear):
            self._text = b""  # someone else copied: their text is the clipboard now
        elif isinstance(ev, event.SelectionRequest):
            self._answer(ev)

    def _answer(self, request: event.SelectionRequest) -> None:
        prop = request.property or request.target  # obsolete clients pass None
        if request.selection != self._clipboard:
            prop = X.NONE
        elif request.target == self._targets:
            request.requestor.change_property(
                prop, Xatom.ATOM, 32, [self._targets, *sorted(self._text_atoms)]
            )
        elif request.target in self._text_atoms:
            kind = Xatom.STRING if request.target == Xatom.STRING else self._utf8
            data = self._text
            if kind == Xatom.STRING:  # STRING is Latin-1 by definition
                data = self._text.decode("utf-8").encode("latin-1", errors="replace")
            request.requestor.change_property(prop, kind, 8, data)
        else:
            prop = X.NONE
        notify = event.SelectionNotify(
            time=request.time, requestor=request.requestor, selection=request.selection,
            target=request.target, property=prop,
        )
        request.requestor.send_event(notify, event_mask=0)
        self._display.flush()
