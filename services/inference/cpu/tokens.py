"""Repairs of Tesseract's typical misreads of desktop tokens, checked against the pixels.

Tesseract reads prose well and file names, versions and sizes less so. On the desktop
evaluation set's tune split (``testing/desktop_screens.py``) its misses were mostly:

- a token cut in two where a small punctuation mark sits: "payroll" "iso" for payroll.iso,
  "Slides" "final_2022.xlsx" (the underscore dropped), "Thesis." "py". Two words of one line
  are joined when the gap between them holds a small mark of ink (the page is black on white),
  its kind decided by its shape and height in the line (".", "_", "-", ":"; a monospaced
  underscore fills its cell), or when it holds no ink and is narrower than a space next to a
  dangling separator (in monospaced words, less than 0.9 of a cell: a typed space leaves a
  whole cell), or when a word ending in a separator is boxed over the next one ("new_copy."
  "js"), or when a hyphen read at a word's inner end has less than a space beside it ("Test"
  "-thesis.csv"), or a number cut after a group comma ("23," "629"), or a shell prompt cut
  after its host, or a comma word before an extension whose comma is a dot in the pixels;
- a size glued to its unit: "505.4GB" for "505.4 GB": split at the digit/letter change when
  the column profile shows a blank gap as wide as a space there; likewise a path glued to the
  token before it ("parser.txt/var/log/syslog"), cut before its "/" or "~", a path glued to
  a path ("notes/home/carol") where the gap is over half a character, and a form label
  glued to its value ("Amount:letter.yaml"); a bar or quote read before a path ("|/home/ann")
  or a bar before a name (a list box's edge) is dropped;
- in terminal fonts: "," for "." inside a token (a comma's tail hangs below the baseline),
  "3" for ":" (two stacked dots, nothing taller), '"' for "~", "fhome/" for "/home/", a
  dotted zero read as "@";
- a file mode of ``ls -l`` read with look-alikes ("-IW-------"): each place can hold only
  its letter or "-";
- a decimal point dropped inside a number ("1648" for 164.8): put back where a baseline
  dot sits between its digits;
- in paths and URLs a step's "/" read as a quote, a host's "www" read "ww" or "vwww";
- a dot file's dot read as a dash ("-gitignore"): put back when the pixels hold a baseline
  dot there;
- inside a file name, a version or quarter tag's digits read as look-alikes ("_vi.",
  "vll", "vl0", "vS", "Qi") and Python's dunder files with an underscore lost ("_init_.py");
- ``l`` read as ``!`` or ``i``/``1`` and ``o`` as ``0`` in a file extension: "index.htm!",
  "config.tom!", "Client.xisx", "report.0ds": the part after the last dot is mapped back when
  it becomes a common extension (``EXTENSIONS``, a general list, larger than the generator's).

Every repair needs the pixels to agree or a known extension, so prose is left alone.
"""

from __future__ import annotations

import re

import cv2
import numpy as np

from services.inference.cpu.engines import OcrWord

# Common file extensions (lower case) on desktops: documents, code, media, archives.
EXTENSIONS = frozenset("""
txt md rst pdf doc docx odt ods odp xls xlsx csv tsv ppt pptx rtf tex epub
py pyc js mjs ts tsx jsx rs go c h cc cpp hpp cs java kt rb php pl sh bash zsh ps1 lua swift
html htm css scss less json yaml yml toml ini cfg conf xml sql log lock env
jpg jpeg png gif bmp svg webp tif tiff ico heic raw psd xcf
mp3 wav flac ogg m4a mp4 mkv avi mov webm
zip tar gz tgz bz2 xz 7z rar zst deb rpm iso dmg exe msi apk img bin
""".split())
_CONFUSABLE = str.maketrans({"!": "l", "1": "l", "i": "l", "I": "l", "|": "l", "0": "o",
                             "O": "o", "5": "s", "$": "s"})
# Second choices, tried only when the first gives no extension ("qz" -> "gz", "csy" -> "csv";
# never "sql" -> "sgl").
_CONFUSABLE_MORE = str.maketrans({"q": "g", "y": "v"})
_DANGLING = "._@/"
# Grey level below which a pixel of the normalised page (dark text on white) is ink.
INK_LEVEL = 140
# Below this a pixel is at least a faint antialiased stroke: a thin serif font's 1 px stems
# are lighter than INK_LEVEL, so a serif at their foot looks like a dot at INK_LEVEL alone.
FAINT_LEVEL = 200
# Units a size is written with: "932.8" "MB" are a number and its unit, never one token.
_SIZE_UNITS = frozenset("B KB MB GB TB PB kB KiB MiB GiB TiB bytes".split())
_UNIT = re.compile(r"^([+-]?[\d.,]*\d)([A-Za-z%]+)$")
# A time (HH:MM, H:MM:SS) read with a letter for a digit: "o7:35", "e1:56" (Noto Sans Mono's
# dotted zero), "1l:05".
_TIME = re.compile(r"^[\dOoQDe]?[\dOoQDelI|]:[\dOoQDelI|]{2}(:[\dOoQDelI|]{2})?$")
_TIME_DIGITS = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "e": "0", "l": "1",
                              "I": "1", "|": "1"})


def repair(words: list[OcrWord], page: np.ndarray) -> list[OcrWord]:
    """``words`` (boxes in ``page`` pixels) with the repairs above; ``page`` is the
    normalised grey page (dark text on white) at the same scale."""
    ink = page < INK_LEVEL
    faint = page < FAINT_LEVEL
    out: list[OcrWord] = []
    for line in lines(words):
        joined = _join_split_tokens(line, ink, faint)
        for w in joined:
            for part in _split_glued(w, ink):
                out.extend(_split_unit(part, ink))
    return [_repair_word(w, ink) for w in out]


def _repair_word(w: OcrWord, ink: np.ndarray) -> OcrWord:
    """The repairs of one word, in order: marks first (they decide what the word is), then
    prefixes, then dots and extensions."""
    w = _fix_terminal_marks(w, ink)
    w = _fix_path_marks(w)
    w = _drop_path_prefix(w)
    w = _drop_icon_prefix(w)
    w = _fix_mode_string(w)
    w = _restore_dot(w, ink)
    w = _restore_decimal_point(w, ink)
    w = _leading_dot(w, ink)
    w = _fix_extension(w)
    w = _fix_name_tags(w)
    w = _fix_version(w)
    return _fix_time(w)


_PATH_PREFIX = re.compile("^[|\\[\u2018\u2019'`]+(?=[/~])")  # bars, brackets, quotes
_BAR_PREFIX = re.compile(r"^\|(?=[A-Za-z0-9_.])")


def _drop_path_prefix(w: OcrWord) -> OcrWord:
    """A bar or quote read before a path (a field's edge, a cursor): "|/home/ann" ->
    /home/ann; a path never starts with one. Likewise a bar before a name when the token
    holds no other bar (a list box's edge: "|Forecast_final.ts"; "|a|b|" is a table)."""
    m = _PATH_PREFIX.match(w.text)
    if m is None and w.text.count("|") == 1:
        m = _BAR_PREFIX.match(w.text)
    if m is None:
        return w
    x, y, bw, bh = w.box
    cut = round(bw * m.end() / len(w.text))
    return OcrWord(w.text[m.end():], (x + cut, y, max(1, bw - cut), bh), w.confidence, w.line)


_ICON_PREFIX = re.compile(r"^[^\s@]{0,2}@([^@]+\.([A-Za-z0-9]+))$")


def _drop_icon_prefix(w: OcrWord) -> OcrWord:
    """A file icon drawn against its name read as a glyph or two and an "@":
    "e@config-utils.xlsx" -> config-utils.xlsx (an address has no file extension)."""
    m = _ICON_PREFIX.match(w.text)
    if m is None or m.group(2).lower() not in EXTENSIONS:
        return w
    name = m.group(1)
    x, y, bw, bh = w.box
    cut = round(bw * (len(w.text) - len(name)) / len(w.text))
    return OcrWord(name, (x + cut, y, max(1, bw - cut), bh), w.confidence, w.line)


_GLUED_EXT = re.compile(r"^(.*[A-Za-z0-9_])(" + "|".join(
    sorted(EXTENSIONS, key=len, reverse=True)) + r")$", re.IGNORECASE)


def _marks(w: OcrWord, ink: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Connected components of ink in a word's box (and a pixel around it), as (x, y,
    width, height) from the box's top left."""
    x, y, bw, bh = w.box
    region = ink[max(0, y - 1):y + bh + 2, max(0, x):x + bw].astype(np.uint8)
    if region.size == 0:
        return []
    n, _labels, stats, _c = cv2.connectedComponentsWithStats(region, connectivity=8)
    return [tuple(int(v) for v in stats[i, :4]) for i in range(1, n)]  # type: ignore[misc]


def _dot_at(w: OcrWord, marks: list[tuple[int, int, int, int]], i: int) -> bool | None:
    """Whether the mark at character ``i`` of ``w`` (its place in proportion; ``marks`` are
    its ``_marks``) is a dot (on the baseline) rather than a comma (its tail below the
    baseline the letters stand on); None when no small mark is there."""
    bodies = [m[1] + m[3] for m in marks if m[3] >= 0.5 * w.box[3]]
    near = _small_marks_at(w, marks, i)
    if not bodies or not near:
        return None
    baseline = float(np.median(bodies))
    return all(m[1] + m[3] <= baseline + 1 for m in near)


def _small_marks_at(w: OcrWord, marks: list[tuple[int, int, int, int]],
                    i: int) -> list[tuple[int, int, int, int]]:
    """The small marks (dots, a comma) of ``marks`` at character ``i`` of ``w``, its place
    taken in proportion to the box."""
    bw, bh = w.box[2], w.box[3]
    char_w = bw / len(w.text)
    centre = (i + 0.5) * char_w
    return [m for m in marks if abs(m[0] + m[2] / 2 - centre) <= 0.8 * char_w
            and m[2] <= 0.35 * bh + 1 and m[3] <= 0.35 * bh + 1]


def _colon_at(w: OcrWord, marks: list[tuple[int, int, int, int]], i: int) -> bool:
    """Two small marks one above the other at character ``i``, and nothing taller there (a
    "3" broken by antialiasing into pieces is not a colon)."""
    dots = _small_marks_at(w, marks, i)
    if len(dots) != 2:
        return False
    char_w = w.box[2] / len(w.text)
    centre = (i + 0.5) * char_w
    upper, lower = sorted(dots, key=lambda m: m[1])
    tall = [m for m in marks if abs(m[0] + m[2] / 2 - centre) <= 0.5 * char_w
            and m[3] > 0.35 * w.box[3] + 1]
    return not tall and lower[1] >= upper[1] + upper[3] + 1


def _baseline_dots(w: OcrWord, ink: np.ndarray) -> list[float]:
    """Centres (x, from the word box's left) of the baseline dots in a word's pixels: small
    square marks in the lower part of the line (not an i's or j's dot)."""
    bh = w.box[3]
    if bh < 6:
        return []
    x, y, bw, _ = w.box
    region = ink[max(0, y - 1):y + bh + 2, max(0, x):x + bw]
    dots = []
    for cx, cy, cw, ch in _marks(w, ink):
        if cw > 0.3 * bh + 1 or ch > 0.3 * bh + 1 or cw > 2 * ch + 1 or ch > 2 * cw + 1:
            continue
        if cy < 0.55 * bh or cy + ch > 1.1 * bh + 1:
            continue  # not on the baseline
        # Nothing stands on a dot; a serif's foot or a fringe cut off a letter by the ink
        # threshold lies under the letter's stem.
        if region[:max(0, cy - 1), cx:cx + cw].any():
            continue
        dots.append(cx + cw / 2)
    return dots


def _fix_terminal_marks(w: OcrWord, ink: np.ndarray) -> OcrWord:
    """Marks terminal fonts lose their shape in: a dot read as a comma inside a token
    ("example,com"), a colon read as "3" ("19319" for 19:19, "http3//"), a tilde read as a
    quote ("devbox:"$"), a dotted zero as "@". Each is checked against the pixels where one
    is (a dot sits on the baseline, a comma's tail hangs below it; a colon is two dots), or
    is a shape nothing else has ("://", a prompt's ":~$", a token's second "@")."""
    text = w.text
    if not any(ch in text for ch in ',3"?@\u201c\u201d\u00b0fJjlIn|'):
        return w
    chars = list(text)
    marks: list[tuple[int, int, int, int]] | None = None  # the word's, once one is needed
    for i in range(1, len(text) - 1):
        ch, before, after = text[i], text[i - 1], text[i + 1]
        # (Never before a digit: a decimal comma, "15,08", has a tail these pixels do not
        # show at 9-12 px.)
        comma = ch == "," and before.isalnum() and after.isalpha()
        three = ch == "3" and before.isdigit() and after.isdigit()
        if not (comma or three):
            continue
        marks = _marks(w, ink) if marks is None else marks
        if comma and _dot_at(w, marks, i):
            chars[i] = "."
        elif three and _colon_at(w, marks, i):
            chars[i] = ":"  # two small marks in the cell: a colon, not a 3
    fixed = "".join(chars)
    fixed = re.sub(r"^(https?|ftp|file)[3?]//", r"\1://", fixed)
    fixed = re.sub('(?<=:)[\"\u201c\u201d\u00b0](?=[/$])|^[\"\u201c\u201d](?=/)', "~", fixed)
    # A dotted zero read as "@" ("build-@1" in Noto Sans Mono): a token holds one "@" at
    # most, so a second one between a dash or digit and a digit is that zero.
    if "@" in fixed:
        fixed = _dotted_zeros(fixed)
    # The root slash of an absolute path read as a letter: "fhome/ann", "Jvar/log",
    # "Ivar/log"; and the h of /home read as n ("/nome/carol": no such root exists).
    fixed = re.sub(r"^[fJjlI|](?=(home|usr|var|etc|opt|tmp|srv|mnt|media|root|proc)/)", "/",
                   fixed)
    fixed = re.sub(r"^/nome/", "/home/", fixed)
    if fixed == text:
        return w
    return OcrWord(fixed, w.box, w.confidence, w.line)


def _dotted_zeros(text: str) -> str:
    """Zeros with a dot inside (Noto Sans Mono) read as "@": in a token with no letters
    ("@1:50", "32@.@", "2025-@3-15") every "@" is one; in a token that is no address (no
    domain after it, or a file extension) an "@" between digits ("chapter-2@25.svg"); and
    the second "@" of a token after a dash or digit ("build-@1")."""
    if not any(ch.isalpha() for ch in text):
        return text.replace("@", "0")
    domain = text.rpartition("@")[2]
    if "." not in domain or domain.rpartition(".")[2].lower() in EXTENSIONS:
        # Not an address ("ann2@3com.net" is one): a name or a number with a zero in it.
        text = re.sub(r"(?<=\d)@(?=\d)", "0", text)
    if text.count("@") > 1:
        head, _, tail = text.partition("@")
        text = head + "@" + re.sub(r"(?<=[-_\d])@(?=\d)", "0", tail)
    return text


_URL_HOST = re.compile(r"^((?:https?|ftp)://)[vw]{2,5}\.")
_QUOTE_STEP = re.compile(r"(?<=[A-Za-z0-9])[\u2019'`](?=[A-Za-z0-9])")


def _fix_path_marks(w: OcrWord) -> OcrWord:
    """A path's or URL's marks read as look-alikes: a step's "/" read as a quote
    ("icon\u2019scan" in a token that already holds two "/"), and a host's "www" read
    "ww"/"vwww" after "://"."""
    text = w.text
    if text.count("/") < 2:
        return w
    fixed = _URL_HOST.sub(r"\1www.", text)
    fixed = _QUOTE_STEP.sub("/", fixed)
    return w if fixed == text else OcrWord(fixed, w.box, w.confidence, w.line)


_MODE = re.compile(r"^[-dlcbps][-rwxstSTIWXPVYul1|]{9}$")


def _fix_mode_string(w: OcrWord) -> OcrWord:
    """A file mode as ``ls -l`` prints it ("-rw-r--r--", "drwxr-xr-x") read with look-alikes
    ("-IW-------", "-TWXP-XPr-X"): each of the nine places can only hold its letter or "-",
    so a letter-like mark there is that letter. Only for 10-character tokens of that shape
    (every place a look-alike of its letter or "-") of which four or more read right."""
    text = w.text
    if not _MODE.match(text):
        return w
    valid = sum(ch == "-" or ch == "rwx"[i % 3] for i, ch in enumerate(text[1:]))
    if valid < 4 or valid == 9:
        return w
    places = []
    for i, ch in enumerate(text[1:]):
        if ch == "-":
            places.append("-")
        elif i % 3 == 2 and ch in "sStT":
            places.append(ch)  # setuid / setgid / sticky
        else:
            places.append("rwx"[i % 3])
    return OcrWord(text[0] + "".join(places), w.box, w.confidence, w.line)


def _restore_dot(w: OcrWord, ink: np.ndarray) -> OcrWord:
    """A dot dropped before an extension inside one word ("Tablejs", "requirementstxt"):
    put back when the pixels hold a baseline dot where the extension starts, give or take a
    character."""
    text = w.text
    if "." in text[-6:] or len(text) < 4:
        return w
    m = _GLUED_EXT.match(text)
    if m is None or not m.group(1):
        return w
    split = len(m.group(1))
    char_w = w.box[2] / len(text)
    if any(abs(dot - split * char_w) <= 1.5 * char_w for dot in _baseline_dots(w, ink)):
        # A square dot where "_" was read ("minutes_4_pdf") is that dot.
        head = text[:split - 1] if text[split - 1] == "_" else text[:split]
        return OcrWord(head + "." + text[split:], w.box, w.confidence, w.line)
    return w


def _restore_decimal_point(w: OcrWord, ink: np.ndarray) -> OcrWord:
    """A decimal point dropped inside a number ("1648" for 164.8, serif fonts in tables):
    put back where the pixels hold a baseline dot between two of its digits, the digits
    counted as the glyphs left of the dot."""
    text = w.text
    if len(text) < 2 or not text.isdigit():
        return w
    dots = _baseline_dots(w, ink)
    if len(dots) != 1:
        return w
    bodies = [m for m in _marks(w, ink) if m[3] >= 0.5 * w.box[3]]
    if len(bodies) != len(text):
        return w  # digits touching or broken: their count says nothing
    left = sum(1 for m in bodies if m[0] + m[2] / 2 < dots[0])
    if not 0 < left < len(text):
        return w
    return OcrWord(text[:left] + "." + text[left:], w.box, w.confidence, w.line)


def _leading_dot(w: OcrWord, ink: np.ndarray) -> OcrWord:
    """A dot file's dot read as a dash or a plus ("-gitignore", "+bashrc"): those sit at mid
    height, so a baseline dot where the first character is means ".". """
    text = w.text
    if len(text) < 3 or text[0] not in "-+" or not text[1].isalpha():
        return w
    char_w, bh = w.box[2] / len(text), w.box[3]
    dashes = [m for m in _marks(w, ink) if m[0] + m[2] / 2 <= 1.2 * char_w
              and m[2] >= 1.5 * m[3] and 0.25 * bh <= m[1] <= 0.7 * bh]
    if not dashes and any(dot <= 1.2 * char_w for dot in _baseline_dots(w, ink)):
        return OcrWord("." + text[1:], w.box, w.confidence, w.line)
    return w


def _fix_time(w: OcrWord) -> OcrWord:
    if _TIME.match(w.text) and any(ch.isdigit() for ch in w.text) \
            and not w.text.replace(":", "").isdigit():
        return OcrWord(w.text.translate(_TIME_DIGITS), w.box, w.confidence, w.line)
    return w


def lines(words: list[OcrWord]) -> list[list[OcrWord]]:
    """Words by visual line, left to right. Tesseract's sparse-text mode often makes two
    lines of one row ("13" and "59" of 13:59 in a monospaced table cell): its lines whose
    rows overlap by most of the smaller one's height are one line here."""
    lines: dict[int, list[OcrWord]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    spans = []
    for ws in lines.values():
        top = float(np.median([w.box[1] for w in ws]))
        bottom = float(np.median([w.box[1] + w.box[3] for w in ws]))
        spans.append([top, bottom, list(ws)])
    spans.sort(key=lambda sp: (sp[0] + sp[1]) / 2)
    merged: list[list] = []
    for sp in spans:
        for m in reversed(merged[-8:]):
            inter = min(m[1], sp[1]) - max(m[0], sp[0])
            if inter >= 0.6 * min(m[1] - m[0], sp[1] - sp[0]) > 0:
                m[2].extend(sp[2])
                break
        else:
            merged.append(sp)
    return [sorted(m[2], key=lambda w: w.box[0]) for m in merged]


def _gap_mark(a: OcrWord, b: OcrWord, ink: np.ndarray, faint: np.ndarray) -> str | None:
    """The punctuation mark at the junction of ``a`` and ``b`` ("" = a blank gap narrower
    than a space next to a separator already read), or None when they are two words.

    Tesseract's boxes are a few pixels off at the junction (a dropped underscore often ends up
    inside the next word's box), so the marks are looked for as connected components of ink
    in a window around the gap: flat, wide and low = "_"; flat in the middle = "-"; small and
    low, in the gap = ".". A mark must stand alone in ``faint`` too (the foot serif of a thin
    "M" is a dot in ``ink``)."""
    ax, ay, aw, ah = a.box
    bx, by, _bw, bh = b.box
    top, bottom = min(ay, by), max(ay + ah, by + bh)
    lh = bottom - top
    gap = bx - (ax + aw)
    # Monospaced fonts give a mark a whole cell: a gap up to a line height can hold one
    # (a small one, with its side bearings, a little more: only a dot or a colon then).
    if lh <= 0:
        return None
    if _prompt_cut(a, b, gap) or _digit_group_cut(a, b, gap) or _mode_cut(a, b, gap) \
            or _time_cut(a, b, gap):
        return ""
    if abs((ay + ah) - (by + bh)) > 0.35 * lh:
        return None
    if gap < -2:
        # Boxes that overlap: in monospaced fonts Tesseract boxes a word ending in a
        # separator a cell or more too wide ("new_copy." over "js"): one token.
        return "" if a.text[-1] in _DANGLING and b.text[:1].isalnum() \
            and bx > ax + aw / 2 else None
    if gap > 1.4 * lh:
        return None
    if min(ah, bh) < 0.5 * max(ah, bh) and min(a.confidence, b.confidence) < 0.3:
        return None  # a label beside an unsure word Tesseract boxed with its field
    wide = gap > 1.0 * lh
    pad = max(2, lh // 2)  # an underscore hangs below the word boxes
    y0, x0 = max(0, top - 1), max(0, ax + aw - lh // 4)
    # Wide enough on the right for a monospaced underscore, which fills its whole cell.
    window = ink[y0:bottom + pad, x0:bx + lh].astype(np.uint8)
    marks: list[tuple[str, int]] = []  # (kind, left)
    if window.size:
        n, _labels, stats, _c = cv2.connectedComponentsWithStats(window, connectivity=8)
        wh, ww = window.shape
        for i in range(1, n):
            cx, cy, cw, ch = (int(v) for v in stats[i, :4])
            if cx == 0 or cy == 0 or cx + cw >= ww or cy + ch >= wh:
                continue  # cut by the window: part of a glyph
            rel_top = cy + y0 - top
            left, right = x0 + cx, x0 + cx + cw
            flat = ch <= 0.15 * lh + 1
            in_gap = left >= ax + aw - 1 and right <= bx + 1
            square = cw <= 2 * ch + 1 and ch <= 2 * cw + 1
            if flat and cw >= 0.3 * lh and rel_top >= 0.75 * lh and left >= ax + aw - 3:
                marks.append(("_", left))
                continue
            if not in_gap:
                continue
            if ch > 0.35 * lh or _faint_height(faint, y0, bottom + pad, left, right,
                                                   cy + y0, cy + y0 + ch) > 0.35 * lh:
                return None  # a glyph in the gap: Tesseract had a reason to split
            # A hyphen in a name touches its neighbours, a spaced dash (" - ") does not; a
            # dot or colon may sit in a monospaced cell.
            side = max(left - (ax + aw), bx - right)
            if flat and side <= 0.3 * lh and cw >= max(0.25 * lh, 1.5 * ch) \
                    and 0.3 * lh <= rel_top <= 0.7 * lh:
                marks.append(("-", left))
            elif square and side <= 0.7 * lh and cw <= 0.3 * lh + 1 \
                    and rel_top + ch <= 1.05 * lh + 1:  # (antialiasing: a pixel lower)
                # A dot ends in the lower part of the line, a colon's upper dot above it
                # (near the top of tiny digits: 7 px "14:57").
                low = rel_top >= 0.5 * lh and rel_top + ch >= 0.6 * lh
                marks.append((".", left) if low else ("dot-high", left))
            else:
                return None  # some other mark: leave the split alone
    kinds = sorted(k for k, _ in marks)
    if kinds == [".", "dot-high"]:
        return ":"  # two dots one above the other
    if len(kinds) == 1 and kinds[0] != "dot-high" and (not wide or kinds[0] == "."):
        return kinds[0]
    if marks or wide:
        return None
    # In a monospaced font a mark's cell can leave more than 0.6 of a line height of blank
    # beside it (~0.8 of a cell), a typed space a whole cell or more.
    cell = _mono_cell(a, b)
    within_cell = cell is not None and gap < 0.9 * cell
    if gap > 0.6 * lh and not within_cell:
        return None
    # (Not "-": a spaced dash " - " is read as a word of its own and must stay apart.)
    dangling = (a.text[-1] in _DANGLING or b.text[0] in _DANGLING) \
        and any(ch.isalnum() for ch in a.text) and any(ch.isalnum() for ch in b.text)
    # A blank gap next to a separator already read ("Thesis." "py", "CHANGELOG" ".md"):
    # narrower than a space, or a monospaced cell.
    if dangling:
        return ""
    # A hyphen read at the inner end of a word ("Test" "-thesis-archive.csv", "sample-"
    # "forecast.json") with less than a space beside it: a spaced dash is a word of its own,
    # and "-68.3%" after a word is a negative number.
    # A lone "-" is a spaced dash ("notes.txt - Files"), never a name's hyphen.
    hyphen = (a.text[-1] == "-" and len(a.text) > 1 and b.text[0].isalnum()) or \
        (b.text[0] == "-" and len(b.text) > 1 and b.text[1].isalpha() and a.text[-1].isalnum())
    return "" if hyphen and (gap <= 0.3 * lh or within_cell) else None


def _faint_height(faint: np.ndarray, top: int, bottom: int, left: int, right: int,
                  mark_top: int, mark_bottom: int) -> int:
    """How tall the run of faint rows through a mark is in its inner columns: a dot's own
    height (a pixel of halo aside; a colon's other dot stands apart), a thin glyph's stem
    above its foot serif the line's."""
    if right - left >= 3:
        left, right = left + 1, right - 1
    rows = faint[top:bottom, left:right].any(axis=1)
    start, end = mark_top - top, min(rows.size, mark_bottom - top)
    while start > 0 and rows[start - 1]:
        start -= 1
    while end < rows.size and rows[end]:
        end += 1
    return end - start


def pair_height(a: OcrWord, b: OcrWord) -> int:
    """The height of the line two neighbouring words make: top of either to bottom of either."""
    return max(a.box[1] + a.box[3], b.box[1] + b.box[3]) - min(a.box[1], b.box[1])


def _mono_cell(a: OcrWord, b: OcrWord) -> float | None:
    """The character cell when both words look monospaced (the same width per character,
    within 12 %, and words of three characters or more), else None."""
    if len(a.text) < 3 or len(b.text) < 3:
        return None
    ca, cb = a.box[2] / len(a.text), b.box[2] / len(b.text)
    return (ca + cb) / 2 if abs(ca - cb) <= 0.12 * max(ca, cb) else None


_GROUPS_HEAD = re.compile(r"^[-+$\u20ac\u00a3]?\d[\d,]*,$")
_GROUPS_TAIL = re.compile(r"^(\d{3}|\d{2})([.,]\d+)*%?$")


def _digit_group_cut(a: OcrWord, b: OcrWord, gap: int) -> bool:
    """A number cut after a separator comma ("23," "629", "$5," "927.32", "615," "08"):
    digits and a comma, then a group of two or three digits, less than a space apart (a
    monospaced comma's cell leaves a gap a proportional font's space would; a real space
    after it adds a whole cell more)."""
    return bool(_GROUPS_HEAD.match(a.text) and _GROUPS_TAIL.match(b.text)
                and gap < 1.5 * a.box[2] / len(a.text))


def _mode_cut(a: OcrWord, b: OcrWord, gap: int) -> bool:
    """A file mode of ``ls -l`` cut in two ("-rw" "-------"; the run of dashes boxed only
    as tall as a dash): ten places together, less than half a cell apart (a dash's side
    bearings leave a few pixels; a space adds a whole cell)."""
    return len(a.text) + len(b.text) == 10 and bool(_MODE.match(a.text + b.text)) \
        and gap < 0.5 * a.box[2] / len(a.text)


_TIME_HEAD = re.compile(r"^\d{1,2}:(\d{2}:)?$")


def _time_cut(a: OcrWord, b: OcrWord, gap: int) -> bool:
    """A time cut after its colon ("22:" "03"): its minutes less than a cell apart (a
    monospaced colon's cell leaves a gap; a space adds a whole cell more)."""
    return bool(_TIME_HEAD.match(a.text)) and len(b.text) == 2 and b.text.isdigit() \
        and gap < a.box[2] / len(a.text)


def _prompt_cut(a: OcrWord, b: OcrWord, gap: int) -> bool:
    """A shell prompt cut after its host ("ann@devbox:" "~/src$"): the shape is unmistakable,
    and the gap is less than a (monospaced) cell, so no space was typed there."""
    return (a.text.endswith(":") and "@" in a.text and b.text[:1] in "~/"
            and b.text[-1:] in "$#>" and gap < a.box[2] / len(a.text))


def _continues(mark: str, prev: str, nxt: str) -> bool:
    """Whether ``nxt`` plausibly continues a token after ``mark``: a dot is followed by an
    extension-like part (lower case, a digit, or short ALLCAPS like JPG), not by the next
    sentence of prose; the other marks join whatever follows."""
    if mark not in (".", "") or not nxt:
        return True
    if nxt in _SIZE_UNITS:
        return False
    if mark == "" and not prev.endswith("."):
        return True
    return nxt[0].islower() or nxt[0].isdigit() or (nxt.isupper() and len(nxt) <= 4)


def _join_split_tokens(line: list[OcrWord], ink: np.ndarray,
                       faint: np.ndarray) -> list[OcrWord]:
    out: list[OcrWord] = []
    for w in line:
        if out:
            prev = out[-1]
            mark = _gap_mark(prev, w, ink, faint)
            if mark is not None:
                read_already = mark and (prev.text.endswith(mark) or w.text.startswith(mark))
                lh = pair_height(prev, w)
                gap = w.box[0] - (prev.box[0] + prev.box[2])
                if read_already and mark == ":" and gap > 0.6 * lh:
                    mark = None  # "Account:" "contract.xlsx": a label and its value
                elif read_already:
                    mark = ""  # the mark was read; only the gap made two words of it
                elif mark in (".", ":") and prev.text[-1] in ",;:!?":
                    mark = None  # "items," "540.7": the comma was seen as a dot
            if mark is None and _comma_before_extension(prev, w, ink):
                out[-1] = OcrWord(prev.text[:-1] + "." + w.text, union(prev.box, w.box),
                                  min(prev.confidence, w.confidence), prev.line)
                continue
            if mark is not None:
                if _continues(mark or ("." if prev.text.endswith(".") else ""),
                              prev.text, w.text):
                    out[-1] = OcrWord(prev.text + mark + w.text, union(prev.box, w.box),
                                      min(prev.confidence, w.confidence), prev.line)
                    continue
        out.append(w)
    return out


def _blank_runs(w: OcrWord, ink: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of the blank column runs strictly inside a word's ink, in word-box
    pixels from its left edge."""
    x, y, bw, bh = w.box
    region = ink[y:y + bh, x:x + bw]
    if region.size == 0:
        return []
    inked = region.any(axis=0)
    cols = np.flatnonzero(inked)
    if cols.size == 0:
        return []
    runs: list[tuple[int, int]] = []
    start = None
    for c in range(int(cols[0]), int(cols[-1]) + 1):
        if not inked[c]:
            start = c if start is None else start
        elif start is not None:
            runs.append((start, c - start))
            start = None
    return runs


def _cut(w: OcrWord, at: int, start: int, length: int) -> list[OcrWord]:
    """``w`` cut before character ``at``, the blank run (start, length) between the two."""
    x, y, bw, bh = w.box
    left = OcrWord(w.text[:at], (x, y, max(1, start), bh), w.confidence, w.line)
    right_x = x + start + length
    right = OcrWord(w.text[at:], (right_x, y, max(1, x + bw - right_x), bh), w.confidence,
                    w.line)
    return [left, right]


def _comma_before_extension(a: OcrWord, b: OcrWord, ink: np.ndarray) -> bool:
    """"table," "js" for table.js (small bitmap fonts): a comma ending a word, a common
    extension (or a name ending in one: "Letter," "index.minutes.6.iso") after less than a
    space, and the pixels of that comma a baseline dot."""
    if len(a.text) < 2 or not a.text.endswith(","):
        return False
    # (b's own dots may still be commas here: "index,minutes,6,iso".)
    tail = b.text.replace(",", ".").rsplit(".", 1)[-1].lower()
    if b.text.lower() not in EXTENSIONS and tail not in EXTENSIONS:
        return False
    ax, ay, aw, ah = a.box
    gap = b.box[0] - (ax + aw)
    char_w = aw / len(a.text)
    # (Tesseract's box of the comma word may reach over the extension: "table," over "js".)
    if b.box[0] <= ax + aw / 2 or gap > 1.2 * char_w \
            or abs((ay + ah) - (b.box[1] + b.box[3])) > 0.35 * ah:
        return False
    if _dot_at(a, _marks(a, ink), len(a.text) - 1):
        return True
    # Reaching far over it, the box places its characters too far right: they stand in
    # the part left of the extension.
    if ax + aw > b.box[0]:
        left = OcrWord(a.text, (ax, ay, b.box[0] - ax, ah), a.confidence, a.line)
        return bool(_dot_at(left, _marks(left, ink), len(a.text) - 1))
    return False


def union(a: tuple[int, int, int, int], b: tuple[int, int, int, int]
          ) -> tuple[int, int, int, int]:
    """The box around two boxes (x, y, w, h)."""
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)


def _split_unit(w: OcrWord, ink: np.ndarray) -> list[OcrWord]:
    """"505.4GB" -> "505.4" "GB" when the pixels show a space between them."""
    m = _UNIT.match(w.text)
    runs = _blank_runs(w, ink) if m else []
    if m is None or not runs:
        return [w]
    bw, bh = w.box[2], w.box[3]
    best, best_len = max(runs, key=lambda r: r[1])
    if best_len < max(3, 0.22 * bh):
        return [w]
    digits = m.group(1)
    # The space must sit where the digits end: its position in proportion to the characters.
    share = best / max(1, bw)
    if abs(share - len(digits) / len(w.text)) > 0.25:
        return [w]
    # Right after a mark as narrow as a dot, it is the gap a monospaced dot leaves beside
    # it ("-19.0%" is no "-19.0" "%"), not the space before a unit.
    before = [r for r in runs if r[0] + r[1] <= best]
    if "." in digits and before:
        prev_end = max(r[0] + r[1] for r in before)
        if best - prev_end <= 0.3 * bh:
            return [w]
    return _cut(w, len(digits), best, best_len)


def _split_glued(w: OcrWord, ink: np.ndarray) -> list[OcrWord]:
    """Two tokens Tesseract read as one where the space between them is wide, and the text
    has a token boundary there: a path glued to the token before it ("parser.txt/var/log",
    "19:59/home/carol": it drops the space before a "/" or "~"), a form's label glued to
    its value ("Amount:letter.yaml"), or a dot file to an address ("ann@example.net.bashrc").
    Cut where the pixels show a blank run as wide as a space and the text, in proportion, has
    such a boundary."""
    text = w.text
    if len(text) < 4 or not any(ch in "/~:@" for ch in text[1:-1]):
        return [w]
    bw, bh = w.box[2], w.box[3]
    runs = _blank_runs(w, ink)
    # A space is wider than the word's usual gaps between glyphs (in a monospaced font a
    # "/" leaves gaps of a few pixels at every path step: those are not spaces).
    space = max(3.0, 0.25 * bh, 2.0 * float(np.median([r[1] for r in runs])) if runs else 0)
    for start, length in sorted(runs, key=lambda r: -r[1]):
        if length < space:
            break
        guess = len(text) * (start + length / 2) / max(1, bw)
        # A path glued to a path ("notes/home/carol"): only where the gap is a space wide
        # in the font's own terms (over half a character), as a path's steps never are.
        wide = length >= 0.6 * bw / len(text)
        cuts = [i for i in range(1, len(text) - 1)
                if abs(i - guess) <= 3 and (_path_starts(text, i) or _label_ends(text, i)
                                            or (wide and (_next_path(text, i)
                                                          or _dot_file_after_address(text, i))))]
        if cuts:
            return _cut(w, min(cuts, key=lambda i: abs(i - guess)), start, length)
    return [w]


def _path_starts(text: str, i: int) -> bool:
    """A path starts at ``i`` after a token that is no path: "/" then a name (not a date's
    "01/05"), or "~", with no "/" before it (a path's own steps are not cut) and no ":" just
    before (a prompt's "host:~/src", a drive's "C:/")."""
    return "/" not in text[:i] and "~" not in text[:i] and text[i - 1] != ":" \
        and (text[i] == "~" or (text[i] == "/" and text[i + 1].isalpha()))


def _next_path(text: str, i: int) -> bool:
    """A second absolute path starts at ``i``, right after a path's last name."""
    return "/" in text[:i] and text[i] == "/" and text[i - 1].isalnum() \
        and text[i + 1:i + 2].isalpha()


_ADDRESS = re.compile(r"^[\w.+-]+@[\w-]+(\.[\w-]+)*\.(com|org|net|io|dev|edu|gov|co|uk|de)$")


def _dot_file_after_address(text: str, i: int) -> bool:
    """A dot file starts at ``i`` right after a whole e-mail address ("...example.net" then
    ".bashrc"): an address ends in its top-level domain, and nothing follows it."""
    return text[i] == "." and text[i + 1:i + 2].isalpha() and "@" not in text[i:] \
        and _ADDRESS.match(text[:i]) is not None


def _label_ends(text: str, i: int) -> bool:
    """A form label ends at ``i``: a word of letters and its colon ("Amount:"), not a URL's
    scheme ("http://")."""
    return text[i - 1] == ":" and i >= 3 and text[:i - 1].isalpha() and text[i] != "/"


def _fix_extension(w: OcrWord) -> OcrWord:
    text = w.text
    dot = text.rfind(".")
    if dot <= 0 or dot == len(text) - 1:
        return w
    ext = text[dot + 1:]
    if ext.lower() in EXTENSIONS or not any(ch.isalpha() for ch in ext):
        return w
    fixed = ext.translate(_CONFUSABLE)
    if fixed.lower() not in EXTENSIONS:
        fixed = fixed.translate(_CONFUSABLE_MORE)
    if fixed.lower() in EXTENSIONS:
        if ext.isupper() or ext[:1].isupper():
            fixed = fixed.upper() if ext.isupper() else fixed
        return OcrWord(text[:dot + 1] + fixed, w.box, w.confidence, w.line)
    return w


# Inside a file name (a part between separators, before its extension): a version tag
# ("v1", "v10") or a quarter ("Q1") whose digits were read as look-alikes ("vi", "vl0",
# "vS", "Qi"), and Python's dunder files with an underscore lost ("_init_.py").
_VERSION_TAG = re.compile(r"(?<=[_.-])v([0-9ilI|SO]+)(?=[_.-])")
_QUARTER_TAG = re.compile(r"(?<=[_.-])Q[ilI|](?=[_.-])")
_TAG_DIGITS = str.maketrans({"i": "1", "l": "1", "I": "1", "|": "1", "S": "5", "O": "0"})
_DUNDER = re.compile(r"^_{1,2}(init|main)_{1,2}\.py$")
# A version number alone ("v1.13.4" read "vi.13.4"): dotted groups of digits or look-alikes.
_VERSION = re.compile(r"^[vV]([0-9ilI|SO]+(?:\.[0-9ilI|SO]+)+)$")


def _fix_version(w: OcrWord) -> OcrWord:
    """A version number's look-alike letters are its digits ("vi.13.4" -> "v1.13.4"), where
    at least one group is read as digits already."""
    m = _VERSION.match(w.text)
    if m is None or not any(ch.isdigit() for ch in m.group(1)) or m.group(1).isdigit() \
            or not all(g.isdigit() or len(g) <= 2 for g in m.group(1).split(".")):
        return w
    return OcrWord(w.text[0] + m.group(1).translate(_TAG_DIGITS), w.box, w.confidence, w.line)


def _fix_name_tags(w: OcrWord) -> OcrWord:
    text = w.text
    dot = text.rfind(".")
    if dot <= 0 or text[dot + 1:].lower() not in EXTENSIONS:
        return w
    fixed = _DUNDER.sub(r"__\1__.py", text)
    fixed = _VERSION_TAG.sub(lambda m: "v" + m.group(1).translate(_TAG_DIGITS)
                             if not m.group(1).isdigit() else m.group(0), fixed)
    fixed = _QUARTER_TAG.sub("Q1", fixed)
    return w if fixed == text else OcrWord(fixed, w.box, w.confidence, w.line)
