"""Real screenshots of a real terminal (xterm) under Xvfb, with the truth from its cell grid.

xterm draws every character in a fixed cell, so a word's box follows from its row, column and
length once the grid is known. The grid is measured, not assumed: the first row is a
reverse-video bar of ``_BAR`` cells, whose extent in the screenshot gives the cell width,
height and the grid's origin (xterm's border, the font's real metrics). Fonts: the X server's
built-in bitmap ``fixed`` (6x13, xterm's default) and Xft monospaced faces from the Debian font
packages at several sizes; themes: xterm's black on white, light on black, green on black.

Content is what terminals show, from ``desktop_screens`` (seeded, so tune/test seeds apply): a
shell prompt with a path, ``ls -l`` rows (permissions, sizes, dates, times, file names), paths,
URLs, e-mail addresses and numbers. Truth words are the space-separated tokens; each is tagged
``xterm``, its content tag and ``xterm_prompt``/``xterm_ls``/``xterm_text``.
"""

from __future__ import annotations

import random
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from services.inference.testing.desktop_screens import (
    NAMES,
    TaggedWord,
    content_tag,
    email,
    filename,
    number,
    path_or_url,
)
from services.inference.testing.screens import Screen
from services.inference.testing.xvfb_frames import grab_screen, grab_split

# (xterm arguments, family tag). "fixed" is the server's built-in 6x13 bitmap font.
XTERM_FONTS = (
    (("-fn", "fixed"), "fixed 6x13"),
    (("-fa", "DejaVu Sans Mono", "-fs", "10"), "DejaVu Sans Mono"),
    (("-fa", "Liberation Mono", "-fs", "11"), "Liberation Mono"),
    (("-fa", "Noto Sans Mono", "-fs", "9"), "Noto Sans Mono"),
    (("-fa", "DejaVu Sans Mono", "-fs", "12"), "DejaVu Sans Mono"),
)
XTERM_THEMES = {"xterm-light": ("white", "black"), "xterm-dark": ("black", "#d0d0d0"),
                "xterm-green": ("black", "#33ff66")}
_BAR = 40  # cells of the calibration bar
_COLUMNS, _ROWS = 120, 30


def _lines(rnd: random.Random) -> list[tuple[str, str]]:
    """(text, widget tag) of each row after the bar."""
    user, host = rnd.choice(NAMES), rnd.choice(["devbox", "build-01", "ws7", "laptop"])
    cwd = path_or_url(rnd) if rnd.random() < 0.5 else "~/" + filename(rnd).split(".")[0]
    if not cwd.startswith(("/", "~")):
        cwd = "~"
    out = [(f"{user}@{host}:{cwd}$ ls -l", "xterm_prompt")]
    for _ in range(rnd.randint(6, 10)):
        size = rnd.randint(12, 9_999_999)
        month = rnd.choice(["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep",
                            "Oct", "Nov", "Dec"])
        perms = rnd.choice(["-rw-r--r--", "-rwxr-xr-x", "drwxr-xr-x", "-rw-------"])
        stamp = f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}"
        out.append((f"{perms} 1 {user} {user} {size:>8} {month} {rnd.randint(1, 28):>2} "
                    f"{stamp} {filename(rnd)}", "xterm_ls"))
    out.append((f"{user}@{host}:{cwd}$ cat notes.txt", "xterm_prompt"))
    for _ in range(rnd.randint(5, 9)):
        parts = [rnd.choice([path_or_url, email, number, filename])(rnd)
                 for _ in range(rnd.randint(2, 4))]
        out.append((" ".join(parts)[:_COLUMNS - 2], "xterm_text"))
    out.append((f"{user}@{host}:{cwd}$", "xterm_prompt"))
    return out[: _ROWS - 2]


def _grid(rgb: np.ndarray, bg: str) -> tuple[int, int, float, float]:
    """(x0, y0, cell width, cell height) from the reverse-video bar of row 0: the bar is
    painted in the foreground colour, so it is the first run of pixels far from the
    background (the window starts at the screen's top left: no window manager)."""
    off = _off_background(rgb, bg)
    # The bar starts within xterm's border; beyond the window, the root is off too.
    rows = np.flatnonzero(off[:, :40].any(axis=1))
    if rows.size == 0:
        raise RuntimeError("xterm drew nothing")
    top = int(rows[0])
    x0 = x1 = int(np.flatnonzero(off[top, :40])[0])
    while x1 < off.shape[1] and off[top, x1]:  # the bar only, not the root window beyond
        x1 += 1
    bottom = top
    while bottom + 1 < off.shape[0] and off[bottom + 1, x0:x1].all():
        bottom += 1
    return x0, top, (x1 - x0) / _BAR, float(bottom - top + 1)


def grab_xterm_screen(seed: int, display: str, size: tuple[int, int] = (1280, 720)) -> Screen:
    """Runs xterm on ``display`` (an Xvfb of at least ``size``) with seeded content, grabs
    the screen and takes the truth from the measured cell grid."""
    rnd = random.Random(seed)
    font_args, family = XTERM_FONTS[seed % len(XTERM_FONTS)]
    theme = rnd.choice(tuple(XTERM_THEMES))
    bg, fg = XTERM_THEMES[theme]
    lines = _lines(rnd)
    with tempfile.TemporaryDirectory() as tmp:
        content = Path(tmp, "screen.txt")
        # Cursor hidden; the bar; the rows.
        content.write_text("\033[?25l\033[7m" + " " * _BAR + "\033[0m\n"
                           + "\n".join(text for text, _ in lines))
        script = f"cat {shlex.quote(str(content))}; sleep 30"
        proc = subprocess.Popen(
            ["xterm", "-display", display, *font_args, "-geometry",
             f"{_COLUMNS}x{_ROWS}+0+0", "-bw", "0", "-bg", bg, "-fg", fg, "-cr", bg, "+sb",
             "-e", "sh", "-c", script],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            image = _grab_when_drawn(display, proc, bg, len(lines))
        finally:
            proc.kill()
            proc.wait(timeout=10)
    rgb = np.asarray(image)
    x0, y0, cw, ch = _grid(rgb, bg)
    words: list[TaggedWord] = []
    for row, (text, widget) in enumerate(lines, start=1):
        col = 0
        for token in text.split(" "):
            if token:
                box = (round(x0 + col * cw), round(y0 + row * ch),
                       round(x0 + (col + len(token)) * cw), round(y0 + (row + 1) * ch))
                words.append(TaggedWord(token, box, len(words),
                                        (content_tag(token), "xterm", widget)))
            col += len(token) + 1
    return Screen(image=image.crop((0, 0, *size)), words=words,
                  phrases=[(w.text, w.box) for w in words], theme=theme, seed=seed,
                  meta={"size": size, "family": family, "aa": "xterm", "source": "xterm"})


def _grab_when_drawn(display: str, proc: subprocess.Popen, bg: str,
                     rows: int) -> Image.Image:
    """The root window once xterm has drawn the bar and its last row, and two grabs in a
    row agree (a window mapped but not yet painted must not be taken for the frame)."""
    deadline = time.monotonic() + 20
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"xterm exited with {proc.returncode}")
        image = grab_screen(display)
        pixels = np.asarray(image)
        if last is not None and np.array_equal(pixels, last) and _last_row_drawn(
                pixels, bg, rows):
            return image
        last = pixels
        time.sleep(0.3)
    raise RuntimeError("xterm did not finish drawing in 20 s")


def _last_row_drawn(rgb: np.ndarray, bg: str, rows: int) -> bool:
    try:
        x0, y0, cw, ch = _grid(rgb, bg)
    except RuntimeError:
        return False
    if cw < 3 or ch < 6:
        return False
    top = round(y0 + rows * ch)
    band = _off_background(rgb[top:round(top + ch), x0:], bg)
    return bool(band.any())


def _off_background(rgb: np.ndarray, bg: str) -> np.ndarray:
    from PIL import ImageColor

    background = np.array(ImageColor.getrgb(bg), dtype=np.int16)
    return np.abs(rgb.astype(np.int16) - background).sum(axis=2) > 120


def grab_xterm_split(split: str, count: int) -> list[Screen]:
    """``count`` xterm screenshots of a split under one fresh Xvfb."""
    return grab_split(split, count, grab_xterm_screen)


__all__ = ["XTERM_FONTS", "grab_xterm_screen", "grab_xterm_split"]
