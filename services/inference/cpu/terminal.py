"""Terminal text: the file mode of an ``ls -l`` row read from its pixels (``modes``), and
the command typed after a shell prompt (``commands``).

Tesseract reads a mode's run of letters and dashes in a terminal font badly: "“ruc",
"TPWXP" "XP" "HX", "-IWw-I--1r--" (twelve places), a run of dashes boxed apart. Yet a mode
has ten cells of one monospaced font, and each cell holds either a dash or the one letter its
place allows (``rwx`` by place, ``d`` or ``-`` first), so a dash or a letter is all that has
to be seen: a dash is a flat mark at mid-height, a letter is taller. Rows are recognised by
their shape (a mode-like first token, then a link count, and a month name further on), so
no other text is touched.

After a prompt ("ann@devbox:~/src$") comes a command and its options, where Tesseract's
language model prefers digits: "1s" for ``ls``, "-1" for ``-l``, and a prompt's ``~`` gets
lost (":$"). A command never starts with a digit, bash's prompt always shows a directory,
and of ``ls``'s options ``-l`` is the one typed (``-1`` exists, but lists one name a line).
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import reduce

import numpy as np

from services.inference.cpu.engines import OcrWord
from services.inference.cpu.tokens import lines as by_line
from services.inference.cpu.tokens import pair_height, union

_MONTHS = frozenset("jan feb mar apr may jun jul aug sep oct nov dec".split())
# Characters Tesseract reads in a mode's cells (the places' letters, look-alikes, dashes).
_MODE_LIKE = re.compile("^[-drwxstSTlIiWXPVYuUnpcyHh1|~\u201c\u201d\"'`]+$")
_PLACES = 10
# A terminal row is at most this many cell widths tall (fonts: 1.7-2.2).
_MAX_ROW_CELLS = 2.6


def _is_listing(line: list[OcrWord]) -> bool:
    texts = [w.text for w in line]
    return len(line) >= 6 and _MODE_LIKE.match(texts[0]) is not None \
        and any(t.lower() in _MONTHS for t in texts[2:])


def _band(line: list[OcrWord]) -> tuple[int, int]:
    """The rows of the line's full-height glyphs: median top and bottom of its tall words."""
    tallest = max(w.box[3] for w in line)
    tall = [w for w in line if w.box[3] >= 0.6 * tallest]
    return (int(np.median([w.box[1] for w in tall])),
            int(np.median([w.box[1] + w.box[3] for w in tall])))


def _cells(ink: np.ndarray, x0: int, x1: int, top: int, bottom: int) -> str | None:
    """Dash or letter ("-" or "a") for each of the ten cells of ink columns x0..x1, or None
    when they do not make ten. The ink falls apart into runs of columns (dashes stand apart,
    letters may touch): each run is flat (dashes) or tall (letters) and holds as many glyphs
    as cells fit in its width."""
    pitch = (x1 - x0) / (_PLACES - 0.3)  # the first and last glyphs' side bearings
    height = bottom - top
    band = ink[top:bottom, x0:x1]
    inked = np.flatnonzero(band.any(axis=0))
    if inked.size == 0:
        return None
    out = []
    for run in np.split(inked, np.flatnonzero(np.diff(inked) > 1) + 1):
        rows = np.flatnonzero(band[:, run[0]:run[-1] + 1].any(axis=1))
        span = rows[-1] - rows[0] + 1
        glyphs = max(1, round((run[-1] - run[0] + 1) / pitch))
        if span > 0.35 * height:
            out.append("a" * glyphs)  # r, w, x, d: as tall as a small letter at least
        elif span <= 0.2 * height and 0.3 * height <= (rows[0] + rows[-1]) / 2 <= 0.85 * height:
            out.append("-" * glyphs)
        else:
            return None
    cells = "".join(out)
    return cells if len(cells) == _PLACES else None


def _mode(cells: str) -> str:
    return "".join(
        "-" if c == "-" else ("d" if k == 0 else "rwx"[(k - 1) % 3])
        for k, c in enumerate(cells))


def modes(words: list[OcrWord], ink: np.ndarray, lines: list[list[OcrWord]]) -> list[OcrWord]:
    """``words`` with the mode of each ``ls -l`` row (``lines``: the words by line, left to
    right) read again from the pixels of ``ink``."""
    replaced: set[int] = set()
    added: list[OcrWord] = []
    for line in lines:
        if not _is_listing(line):
            continue
        top, bottom = _band(line)
        # The mode's words: those before the link count (the first word of digits).
        count = next((i for i, w in enumerate(line) if i > 0 and w.text.isdigit()), None)
        if count is None:
            continue
        head = line[:count]
        x0 = min(w.box[0] for w in head)
        # The mode's ink ends where a blank as wide as a space starts.
        pitch = np.median([w.box[2] / len(w.text) for w in line[count:] if len(w.text) >= 4]
                          or [0])
        if pitch <= 0 or bottom - top > _MAX_ROW_CELLS * pitch:
            continue  # no pitch, or boxes over two rows (one's dashes over the other's letters)
        cols = ink[top:bottom, x0:line[count].box[0]].any(axis=0)
        inked = np.flatnonzero(cols)
        if inked.size == 0:
            continue
        # (A dash leaves up to ~0.7 of a cell blank beside it, a space a cell or more.)
        breaks = np.flatnonzero(np.diff(inked) > 0.95 * pitch)
        x1 = x0 + int(inked[breaks[0]] if breaks.size else inked[-1]) + 1
        if not 8.5 * pitch <= x1 - x0 <= 10.5 * pitch:
            continue  # not ten cells of this font
        cells = _cells(ink, x0, x1, top, bottom)
        if cells is None:
            continue
        mode = _mode(cells)
        inside = [w for w in head if w.box[0] + w.box[2] / 2 < x1]
        if len(inside) == 1 and inside[0].text == mode:
            continue
        replaced.update(id(w) for w in inside)
        added.append(OcrWord(mode, (x0, top, x1 - x0, bottom - top),
                             min(w.confidence for w in inside), line[0].line))
    if not added:
        return words
    return [w for w in words if id(w) not in replaced] + added


_PROMPT = re.compile(r"^[\w.-]+@[\w.-]+:(\S*)[$#]$")
_COMMAND = re.compile(r"^1[a-z]+$")
_OPTION = re.compile(r"^-[a-z1]*1[a-z1]*$")


def commands(words: list[OcrWord], lines: list[list[OcrWord]]) -> list[OcrWord]:
    """``words`` with each prompt's lost ``~`` and the digits read for letters in the command
    after it put right (``lines``: the words by line, left to right)."""
    fixed: dict[int, OcrWord] = {}
    for line in lines:
        for i, w in enumerate(line):
            m = _PROMPT.match(w.text)
            if m is None:
                continue
            if m.group(1) == "":
                fixed[id(w)] = replace(w, text=w.text[:-1] + "~" + w.text[-1])
            rest = line[i + 1:]
            if not rest:
                break
            command = rest[0].text
            if _COMMAND.match(command):
                command = "l" + command[1:]
                fixed[id(rest[0])] = replace(rest[0], text=command)
            if command == "ls":
                for opt in rest[1:]:
                    if _OPTION.match(opt.text):
                        fixed[id(opt)] = replace(opt, text=opt.text.replace("1", "l"))
            break
    return [fixed.get(id(w), w) for w in words]


_PROMPT_START = re.compile(r"^[\w.-]+@[\w.-]+")
# Pieces of a prompt no further apart than this share of the line's height (a space in a
# monospaced font leaves 0.5-1.0: the text decides, this only keeps far words apart).
_PROMPT_GAP = 1.0


def prompts(words: list[OcrWord], lines: list[list[OcrWord]]) -> list[OcrWord]:
    """``words`` with a prompt Tesseract cut in pieces ("dave@ws7" ":~/chapter$", "grace@devbox"
    ":" "~/budget$") made one word again: bash's prompt holds no space, and pieces that
    spell ``user@host:dir$`` together are nothing else."""
    joined: dict[int, OcrWord | None] = {}  # id -> its replacement, None = dropped
    for line in lines:
        for i, w in enumerate(line):
            if _PROMPT.match(w.text) or not _PROMPT_START.match(w.text):
                continue
            for k in range(i + 1, min(len(line), i + 4)):
                a, b = line[k - 1], line[k]
                if b.box[0] - (a.box[0] + a.box[2]) > _PROMPT_GAP * pair_height(a, b):
                    break
                parts = line[i:k + 1]
                text = "".join(p.text for p in parts)
                if _PROMPT.match(text):
                    box = reduce(union, (p.box for p in parts))
                    joined[id(w)] = OcrWord(text, box, min(p.confidence for p in parts),
                                            w.line)
                    joined.update((id(p), None) for p in parts[1:])
                    break
            break  # a line's first address-like word is its prompt, if any
    out = [joined.get(id(w), w) for w in words]
    return [w for w in out if w is not None]


def repair(words: list[OcrWord], ink: np.ndarray) -> list[OcrWord]:
    """The repairs of this module, on words in ``ink``'s (the page's ink mask) pixels."""
    words = modes(words, ink, by_line(words))
    words = prompts(words, by_line(words))
    return commands(words, by_line(words))


__all__ = ["commands", "modes", "prompts", "repair"]
