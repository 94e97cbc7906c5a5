"""The demo application `bytebot up` opens on its own Xvfb (unless `--no-demo`), so the
README's first task ("click Submit") has something to click: a form with a text field and a
Submit button, a status line, and a file list — large DejaVu fonts so OCR reads every word.

Clicking Submit visibly changes the window: the status line becomes "Submitted: <text>".
Every event is also appended to `--events FILE` ("ready", "clicked Submit",
"submitted: <text>"), which is how the stack knows the window is up and how tests check that
a click landed. Plain tkinter and nothing of this repository, so any Python with Tk runs it:

    DISPLAY=:N python3 libs/stack/demo_app.py --events /tmp/demo-events.log
"""

from __future__ import annotations

import argparse
import signal
import sys
import tkinter as tk

FILES = ("budget.ods", "report_2026-Q3.pdf", "README.md", "notes.txt")
DEFAULT_TEXT = "hello from bytebot"
FONT = ("DejaVu Sans", 26)
SMALL = ("DejaVu Sans", 22)


class DemoApp:
    def __init__(self, root: tk.Tk, events: str | None) -> None:
        self.events = events
        self.clicks = 0
        root.title("Bytebot demo")
        # Top-left, well inside the stack's 1280x960 screen; no window manager runs there,
        # so the geometry is exactly what the screen shows.
        root.geometry("900x720+40+40")
        root.configure(background="white")
        options = {"background": "white", "foreground": "black"}
        tk.Label(root, text="Bytebot demo form", font=("DejaVu Sans", 30, "bold"),
                 **options).pack(pady=(20, 10))
        form = tk.Frame(root, background="white")
        form.pack(pady=10)
        tk.Label(form, text="Message", font=FONT, **options).grid(row=0, column=0, padx=10)
        self.text = tk.Entry(form, font=FONT, width=22, relief="solid", borderwidth=1)
        self.text.insert(0, DEFAULT_TEXT)
        self.text.grid(row=0, column=1, padx=10)
        tk.Button(root, text="Submit", font=("DejaVu Sans", 32), command=self.submit,
                  activebackground="#dddddd", padx=30, pady=10, **options).pack(pady=20)
        # Words other than "Submit" so a search for the button finds only the button.
        self.status = tk.Label(root, text="Status: waiting", font=FONT, **options)
        self.status.pack(pady=10)
        tk.Label(root, text="Files", font=FONT, **options).pack(pady=(20, 0))
        files = tk.Listbox(root, font=SMALL, height=len(FILES), width=24,
                           relief="solid", borderwidth=1, **options)
        for name in FILES:
            files.insert("end", name)
        files.pack(pady=10)
        self.root = root
        root.after(300, self._ready)

    def _ready(self) -> None:
        """"ready" once the window is mapped and laid out: a screenshot taken after it shows
        the widgets where a click will find them."""
        if not self.root.winfo_viewable():
            self.root.after(100, self._ready)
            return
        self.root.update_idletasks()
        self.log("ready")

    def log(self, line: str) -> None:
        print(line, flush=True)  # the stack's var/log/demo.log
        if self.events:
            with open(self.events, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def submit(self) -> None:
        self.clicks += 1
        text = self.text.get()
        self.status.configure(text=f"Submitted: {text}")
        self.log("clicked Submit")
        self.log(f"submitted: {text}")


def _keep_python_awake(root: tk.Tk) -> None:
    """Tk's event loop waits in C, where Python never runs a signal handler; a timer every
    200 ms hands control back so the SIGTERM handler runs."""
    root.after(200, _keep_python_awake, root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", help="append one line per event to this file")
    args = parser.parse_args(argv)
    try:
        root = tk.Tk()
    except tk.TclError as exc:  # no DISPLAY, or it does not answer
        print(f"demo: cannot open the display: {exc}", file=sys.stderr)
        return 1
    DemoApp(root, args.events)
    # `bytebot up` stops its children with SIGTERM: a clean exit (code 0), not "killed"
    signal.signal(signal.SIGTERM, lambda _signum, _frame: root.quit())
    _keep_python_awake(root)
    root.mainloop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
