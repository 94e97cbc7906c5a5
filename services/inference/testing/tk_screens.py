"""Real screenshots of a real toolkit under Xvfb, with the truth taken from the toolkit.

A Tk program (a file browser: a Listbox of file names, a ttk.Treeview table of name / size /
date, a Text pane of paths, e-mail addresses and numbers, buttons) runs under its own Xvfb;
Tk itself reports where each word is: ``Text.bbox`` of a word's first and last character,
``Listbox.bbox`` of an item, ``Treeview.bbox`` of a cell (the cell, not only its ink), and a
button's widget box. The screen is captured as the computer service captures it
(``xvfb_frames``). Content comes from ``desktop_screens`` (seeded), so tune/test seeds apply
here too.

Only words Tk can place exactly are truth; a frame is a ``Screen`` like the generated ones,
its words tagged ``tk`` plus their content tag and widget (``tk_text``, ``tk_list``,
``tk_table``, ``tk_button``).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

from services.inference.testing.desktop_screens import (
    BUTTONS,
    TaggedWord,
    content_tag,
    email,
    filename,
    number,
    path_or_url,
)
from services.inference.testing.screens import Screen
from services.inference.testing.xvfb_frames import grab_screen, grab_split

_APP = r'''
import json, sys, tkinter as tk
from tkinter import ttk
spec = json.loads(sys.argv[1])
root = tk.Tk()
root.geometry("%dx%d+0+0" % tuple(spec["size"]))
root.configure(bg=spec["bg"])
font = (spec["family"], spec["pt"])
style = ttk.Style(root)
style.configure("Treeview", font=font, rowheight=spec["pt"] * 2 + 6)
style.configure("Treeview.Heading", font=(spec["family"], spec["pt"], "bold"))
left = tk.Listbox(root, font=font, width=28, height=len(spec["list"]), bg="#ffffff",
                  fg="#202020", selectbackground="#2a62c9", selectforeground="#ffffff",
                  highlightthickness=0, borderwidth=1)
for item in spec["list"]:
    left.insert("end", item)
left.selection_set(spec["selected"])
left.place(x=10, y=10)
tree = ttk.Treeview(root, columns=("size", "date"), height=len(spec["table"]))
for col, title in (("#0", "Name"), ("size", "Size"), ("date", "Date")):
    tree.heading(col, text=title)
tree.column("#0", width=300); tree.column("size", width=120); tree.column("date", width=150)
items = [tree.insert("", "end", text=r[0], values=(r[1], r[2])) for r in spec["table"]]
tree.place(x=360, y=10)
text = tk.Text(root, font=font, width=110, height=len(spec["text"]) + 1, borderwidth=0,
               highlightthickness=0, bg=spec["bg"], fg=spec["fg"], wrap="none")
for line in spec["text"]:
    text.insert("end", line + "\n")
text.place(x=10, y=spec["text_y"])
buttons = []
bx = 10
for label in spec["buttons"]:
    b = tk.Button(root, text=label, font=font)
    b.place(x=bx, y=spec["size"][1] - 50)
    buttons.append(b)
    root.update_idletasks()
    bx += b.winfo_reqwidth() + 12
root.update()
root.after(300, lambda: None)
root.update()

def absbox(widget, box):
    x, y, w, h = box
    return [widget.winfo_rootx() + x, widget.winfo_rooty() + y,
            widget.winfo_rootx() + x + w, widget.winfo_rooty() + y + h]

words = []
for i, item in enumerate(spec["list"]):
    words.append([item, absbox(left, left.bbox(i)), "tk_list"])
for iid, row in zip(items, spec["table"]):
    for col, value in zip(("#0", "size", "date"), row):
        box = tree.bbox(iid, col)
        if box:
            words.append([value, absbox(tree, box), "tk_table"])
for ln, line in enumerate(spec["text"], start=1):
    col = 0
    for token in line.split(" "):
        if token:
            a = text.bbox("%d.%d" % (ln, col))
            b = text.bbox("%d.%d" % (ln, col + len(token) - 1))
            if a and b:
                x0, y0 = a[0], min(a[1], b[1])
                box = [x0, y0, b[0] + b[2] - x0, max(a[1] + a[3], b[1] + b[3]) - y0]
                words.append([token, absbox(text, box), "tk_text"])
        col += len(token) + 1
for b, label in zip(buttons, spec["buttons"]):
    words.append([label, [b.winfo_rootx(), b.winfo_rooty(), b.winfo_rootx() + b.winfo_width(),
                          b.winfo_rooty() + b.winfo_height()], "tk_button"])
print(json.dumps(words), flush=True)
sys.stdin.readline()  # keep the window up until the parent has grabbed the screen
'''

TK_FAMILIES = ("DejaVu Sans", "Liberation Sans", "Cantarell", "Open Sans", "DejaVu Sans Mono",
               "Liberation Serif")


def _spec(seed: int, size: tuple[int, int]) -> dict[str, object]:
    rnd = random.Random(seed)
    pt = rnd.choice([9, 10, 11, 12])
    dark = rnd.random() < 0.4
    return {
        "size": list(size), "family": TK_FAMILIES[seed % len(TK_FAMILIES)], "pt": pt,
        "bg": "#2b2b2b" if dark else "#ececec", "fg": "#e8e8e8" if dark else "#1d1d1d",
        "list": [filename(rnd) for _ in range(10)], "selected": rnd.randrange(10),
        "table": [[filename(rnd), f"{rnd.randint(1, 99_999):,}", number(rnd).split(" ")[0]]
                  for _ in range(8)],
        "text": [" ".join(rnd.choice([path_or_url, email, number, filename])(rnd)
                          for _ in range(3)) for _ in range(5)],
        "text_y": 10 + (pt * 2 + 8) * 10 + 30,
        "buttons": rnd.sample(BUTTONS, 4),
    }


def grab_tk_screen(seed: int, display: str, size: tuple[int, int] = (1280, 720)) -> Screen:
    """Runs the Tk app on ``display`` (an Xvfb of at least ``size``), grabs the screen."""
    spec = _spec(seed, size)
    env = dict(os.environ, DISPLAY=display)
    proc = subprocess.Popen([sys.executable, "-c", _APP, json.dumps(spec)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdin is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the Tk app exited before reporting its words")
        truth = json.loads(line)
        image = grab_screen(display, size)
        proc.stdin.write("\n")
        proc.stdin.flush()
    finally:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    words = [TaggedWord(text, tuple(box), i, (content_tag(text), "tk", widget))
             for i, (text, box, widget) in enumerate(truth)]
    return Screen(image=image, words=words, phrases=[(w.text, w.box) for w in words],
                  theme="tk-dark" if spec["bg"] == "#2b2b2b" else "tk-light", seed=seed,
                  meta={"size": size, "family": spec["family"], "aa": "x11",
                        "source": "tk"})


def grab_tk_split(split: str, count: int) -> list[Screen]:
    """``count`` Tk screenshots of a split under one fresh Xvfb."""
    return grab_split(split, count, grab_tk_screen)


__all__ = ["grab_tk_screen", "grab_tk_split"]
