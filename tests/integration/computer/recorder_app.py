"""A small Tk application that records every input event it receives, for the computer tests.

    DISPLAY=:N python recorder_app.py OUT_DIR

Layout (root coordinates, the window sits at +0+0 on a display without a window manager):
- a canvas at the top with a solid rectangle of a known colour (for screenshot checks) and an
  area that receives mouse events;
- a text field below it (keyboard focus), whose content is mirrored to OUT_DIR/text.txt.

Every event is one JSON line in OUT_DIR/events.jsonl; the first line is {"type": "ready", ...}
with the widgets' geometry, written once the window is mapped.
"""

from __future__ import annotations

import json
import os
import sys
import tkinter as tk

RECT_COLOUR = "#12ab34"
RECT = (600, 20, 780, 180)  # x0, y0, x1, y1 in canvas (= root) coordinates


def main() -> None:
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    events = open(os.path.join(out_dir, "events.jsonl"), "a", buffering=1)
    root = tk.Tk(className="Recorder")
    root.geometry("800x600+0+0")
    canvas = tk.Canvas(root, width=800, height=200, background="white", highlightthickness=0)
    canvas.place(x=0, y=0)
    canvas.create_rectangle(*RECT, fill=RECT_COLOUR, outline=RECT_COLOUR)
    text = tk.Text(root, font=("Courier", 12), undo=False)
    text.place(x=0, y=220, width=800, height=380)
    last_text = [None]

    def record(kind: str, event: tk.Event) -> None:  # type: ignore[type-arg]
        line = {
            "type": kind,
            "widget": "text" if event.widget is text else "canvas" if event.widget is canvas
            else str(event.widget),
            "x_root": event.x_root,
            "y_root": event.y_root,
            "state": event.state if isinstance(event.state, int) else 0,
        }
        if kind.startswith("Key"):
            line.update(keysym=event.keysym, char=event.char, keycode=event.keycode)
        if kind.startswith("Button"):
            line["num"] = event.num
        events.write(json.dumps(line) + "\n")

    for kind in ("KeyPress", "KeyRelease", "ButtonPress", "ButtonRelease", "Motion"):
        root.bind_all(f"<{kind}>", lambda e, k=kind: record(k, e), add="+")

    def mirror_text() -> None:
        value = text.get("1.0", "end-1c")
        if value != last_text[0]:
            last_text[0] = value
            tmp = os.path.join(out_dir, "text.txt.tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(value)
            os.replace(tmp, os.path.join(out_dir, "text.txt"))
        root.after(20, mirror_text)

    def announce() -> None:
        root.update_idletasks()
        text.focus_force()
        events.write(json.dumps({
            "type": "ready",
            "text": [text.winfo_rootx(), text.winfo_rooty(), text.winfo_width(),
                     text.winfo_height()],
            "canvas": [canvas.winfo_rootx(), canvas.winfo_rooty(), canvas.winfo_width(),
                       canvas.winfo_height()],
            "rect": list(RECT),
            "rect_colour": RECT_COLOUR,
        }) + "\n")

    root.after(20, mirror_text)
    root.after(200, announce)
    root.mainloop()


if __name__ == "__main__":
    main()
