"""Synthetic UI screenshots with ground truth, for OCR tests and the accuracy benchmark.

Each screen is drawn with Pillow and the DejaVu fonts (Debian ``fonts-dejavu-core``) and looks
like a desktop application: a menu bar, a toolbar of buttons, a sidebar list with a selected
row, a form with labelled text fields, paragraphs, a status bar and (often) a modal dialog.
Light and dark themes, small (11 px) to large (26 px) fonts, 1280x720 and 1280x960 frames.
Every drawn word is recorded with its ink box, so recall and "centre-hit" (the centre of the
box the OCR returns lies inside the true box, which is what a click needs) can be measured.

Deterministic: the same seed gives the same pixels and the same truth.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (1280, 960))

MENU_WORDS = ["File", "Edit", "View", "Insert", "Format", "Tools", "Window", "Help", "Go",
              "Run", "Terminal", "Selection", "Project", "History", "Bookmarks"]
BUTTON_LABELS = ["OK", "Cancel", "Apply", "Save", "Save As", "Open", "Close", "Submit",
                 "Delete", "Retry", "Next", "Back", "Finish", "Browse", "Import", "Export",
                 "Search", "Refresh", "Upload", "Download", "Share", "Print", "Undo", "Redo",
                 "Sign In", "Log Out", "Continue", "Add Item", "New Folder", "Send"]
FORM_LABELS = ["Name:", "Email:", "Password:", "Address:", "City:", "Phone:", "Username:",
               "Country:", "Company:", "Subject:", "Title:", "Location:"]
WORDS = ("account settings profile network display sound battery privacy security update "
         "system storage keyboard mouse printer bluetooth wireless desktop documents pictures "
         "music videos downloads trash recent starred shared calendar contacts messages mail "
         "inbox drafts archive report invoice budget summary project meeting schedule agenda "
         "notes backup restore install remove license version release server client database "
         "query table column record field value status pending running complete failed "
         "warning error notice channel session monitor traffic latency memory processor disk "
         "volume folder template preview theme language region timezone welcome dashboard "
         "analytics orders customers products payments shipping returns reviews support "
         "tickets billing invoices quarterly revenue forecast weekly daily monthly yearly "
         "Alice Bob Carol David Eve Frank Grace Henry January February March April May June "
         "July August Monday Tuesday Friday 2024 2025 1280 42 17 365 100 v2 build").split()


def word_boxes(draw: ImageDraw.ImageDraw, xy: tuple[int, int], text: str,
               fnt: ImageFont.FreeTypeFont) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Each space-separated token of `text` drawn at `xy` with its ink box (the truth of
    both generated sets: one rule for where a word is)."""
    x, y = xy
    found = []
    offset = 0.0
    for i, token in enumerate(text.split(" ")):
        if i:
            offset += fnt.getlength(" ")
        if token:
            left, top, right, bottom = draw.textbbox((x + offset, y), token, font=fnt)
            found.append((token, (int(left), int(top), int(right + 0.999), int(bottom + 0.999))))
            offset += fnt.getlength(token)
    return found


@dataclass(frozen=True)
class TruthWord:
    """One drawn word: its text, its ink box (x0, y0, x1, y1; x1/y1 exclusive), its phrase."""

    text: str
    box: tuple[int, int, int, int]
    phrase: int

    @property
    def center(self) -> tuple[float, float]:
        return ((self.box[0] + self.box[2]) / 2, (self.box[1] + self.box[3]) / 2)


@dataclass
class Screen:
    """A generated screenshot with the words drawn on it."""

    image: Image.Image
    words: list[TruthWord]
    phrases: list[tuple[str, tuple[int, int, int, int]]]  # drawn runs of words, union box
    theme: str
    seed: int
    meta: dict[str, object] = field(default_factory=dict)

    def png(self) -> bytes:
        import io

        buf = io.BytesIO()
        self.image.save(buf, format="PNG", compress_level=1)
        return buf.getvalue()


@dataclass(frozen=True)
class Theme:
    name: str
    bg: str
    panel: str
    text: str
    muted: str
    button: str
    button_border: str
    primary: str
    primary_text: str
    selection: str
    selection_text: str
    field_bg: str
    field_border: str
    title_bar: str


LIGHT = Theme("light", "#f6f6f6", "#ebebeb", "#202124", "#6b6b6b", "#e4e4e4", "#9a9a9a",
              "#1a73e8", "#ffffff", "#cfe3ff", "#0b2a55", "#ffffff", "#b0b0b0", "#dcdcdc")
DARK = Theme("dark", "#1e1e1e", "#252526", "#d4d4d4", "#9a9a9a", "#3a3d41", "#5a5d61",
             "#0e639c", "#ffffff", "#094771", "#ffffff", "#2d2d30", "#5a5a5a", "#323233")


@lru_cache(maxsize=64)
def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    name = "DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"
    return ImageFont.truetype(str(FONT_DIR / name), size)


class _Painter:
    """Draws text runs and remembers every word's box."""

    def __init__(self, image: Image.Image) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.words: list[TruthWord] = []
        self.phrases: list[tuple[str, tuple[int, int, int, int]]] = []
        self.occupied: list[tuple[int, int, int, int]] = []

    def text(self, xy: tuple[int, int], text: str, fnt: ImageFont.FreeTypeFont,
             fill: str) -> tuple[int, int, int, int]:
        """Draws ``text`` with its top-left at ``xy``; returns the union ink box."""
        x, y = xy
        self.draw.text((x, y), text, font=fnt, fill=fill)
        phrase = len(self.phrases)
        boxes = []
        for token, box in word_boxes(self.draw, (x, y), text, fnt):
            self.words.append(TruthWord(token, box, phrase))
            boxes.append(box)
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                 max(b[2] for b in boxes), max(b[3] for b in boxes))
        self.phrases.append((text, union))
        return union

    def text_size(self, text: str, fnt: ImageFont.FreeTypeFont) -> tuple[int, int]:
        left, _top, right, bottom = self.draw.textbbox((0, 0), text, font=fnt)
        return int(right - left + 0.999), int(bottom + 0.999)


def _button(p: _Painter, theme: Theme, x: int, y: int, label: str, size: int,
            primary: bool = False, rnd: random.Random | None = None) -> int:
    """Draws a bordered button; returns its right edge."""
    fnt = font(size, bold=primary)
    tw, th = p.text_size(label, fnt)
    pad_x, pad_y = max(10, size), max(5, size // 2)
    w, h = tw + 2 * pad_x, th + 2 * pad_y
    fill = theme.primary if primary else theme.button
    radius = 4 if rnd is None else rnd.choice([0, 3, 6])
    p.draw.rounded_rectangle((x, y, x + w, y + h), radius=radius, fill=fill,
                             outline=theme.button_border, width=1)
    p.text((x + pad_x, y + pad_y), label, fnt, theme.primary_text if primary else theme.text)
    return x + w


def generate_screen(seed: int, size: tuple[int, int] | None = None,
                    theme: str | None = None) -> Screen:
    """One UI screenshot, deterministic by ``seed``."""
    rnd = random.Random(seed)
    width, height = size or SIZES[rnd.randrange(len(SIZES))]
    th = {"light": LIGHT, "dark": DARK}[theme or rnd.choice(["light", "dark"])]
    image = Image.new("RGB", (width, height), th.bg)
    p = _Painter(image)
    base = rnd.choice([12, 13, 14, 15, 16])
    words = WORDS[:]
    rnd.shuffle(words)
    word_iter = iter(words * 4)

    # Title bar and menu bar.
    p.draw.rectangle((0, 0, width, 30), fill=th.title_bar)
    title = f"{next(word_iter).capitalize()} {next(word_iter)} - Editor"
    tfont = font(13, bold=True)
    tw, _ = p.text_size(title, tfont)
    p.text(((width - tw) // 2, 8), title, tfont, th.text)
    p.draw.rectangle((0, 30, width, 56), fill=th.panel)
    x = 10
    for item in rnd.sample(MENU_WORDS, rnd.randint(5, 8)):
        box = p.text((x, 36), item, font(13), th.text)
        x = box[2] + 18

    # Toolbar of buttons.
    y_tool = 66
    x = 10
    labels = rnd.sample(BUTTON_LABELS, 8)
    for i, label in enumerate(labels[:rnd.randint(4, 6)]):
        x = _button(p, th, x, y_tool, label, base - 1, primary=(i == 0), rnd=rnd) + 8
    toolbar_bottom = y_tool + 2 * max(5, (base - 1) // 2) + base + 6

    # Sidebar list with a selected row.
    side_w = rnd.choice([200, 230, 260])
    top = toolbar_bottom + 10
    p.draw.rectangle((0, top, side_w, height - 28), fill=th.panel)
    p.draw.line((side_w, top, side_w, height - 28), fill=th.button_border)
    row_h = base + 12
    n_rows = min(14, (height - 28 - top - 10) // row_h)
    selected = rnd.randrange(n_rows)
    for i in range(n_rows):
        ry = top + 8 + i * row_h
        text = next(word_iter).capitalize()
        if rnd.random() < 0.35:
            text += f" {next(word_iter)}"
        color = th.text
        if i == selected:
            p.draw.rectangle((4, ry - 3, side_w - 4, ry + row_h - 5), fill=th.selection)
            color = th.selection_text
        p.text((16, ry), text, font(base), color)

    # Main area: heading, paragraphs, form fields.
    mx = side_w + 30
    y = top + 12
    heading = f"{next(word_iter).capitalize()} {next(word_iter).capitalize()}"
    box = p.text((mx, y), heading, font(rnd.choice([22, 24, 26]), bold=True), th.text)
    y = box[3] + 16
    for _ in range(rnd.randint(2, 3)):
        n = rnd.randint(5, 9)
        sentence = " ".join(next(word_iter) for _ in range(n))
        color = th.text if rnd.random() < 0.7 else th.muted
        box = p.text((mx, y), sentence.capitalize(), font(base), color)
        y = box[3] + rnd.randint(10, 18)
    small = rnd.choice([11, 12])
    box = p.text((mx, y), " ".join(next(word_iter) for _ in range(6)), font(small), th.muted)
    y = box[3] + 20
    field_w = 260
    for label in rnd.sample(FORM_LABELS, rnd.randint(2, 4)):
        p.text((mx, y + 6), label, font(base), th.text)
        fx = mx + 130
        fh = base + 14
        p.draw.rectangle((fx, y, fx + field_w, y + fh), fill=th.field_bg,
                         outline=th.field_border)
        value = next(word_iter)
        p.text((fx + 8, y + 6), value.capitalize(), font(base), th.text)
        y += fh + 12

    # Right column: a card with a list of key/value lines in a large or small font.
    cx = width - rnd.choice([300, 330])
    cy = top + 12
    p.draw.rectangle((cx, cy, width - 20, cy + 220), fill=th.panel, outline=th.button_border)
    p.text((cx + 14, cy + 10), next(word_iter).capitalize(), font(18, bold=True), th.text)
    for i in range(5):
        line = f"{next(word_iter).capitalize()} {next(word_iter)}"
        p.text((cx + 14, cy + 44 + i * 34), line, font(rnd.choice([12, 14, 16])), th.text)

    # A modal dialog over the lower part, on most frames.
    if rnd.random() < 0.75:
        dw, dh = 420, 160
        dx = rnd.randint(side_w + 20, width - dw - 20)
        dy = rnd.randint(max(y + 10, height // 2), height - dh - 40)
        p.draw.rectangle((dx + 4, dy + 4, dx + dw + 4, dy + dh + 4), fill="#000000")
        p.draw.rectangle((dx, dy, dx + dw, dy + dh), fill=th.bg, outline=th.button_border)
        p.draw.rectangle((dx, dy, dx + dw, dy + 30), fill=th.title_bar)
        p.text((dx + 12, dy + 8), f"Confirm {next(word_iter)}", font(13, bold=True), th.text)
        msg = " ".join(next(word_iter) for _ in range(5)).capitalize()
        p.text((dx + 16, dy + 52), msg, font(base), th.text)
        bx = dx + dw - 16
        for i, label in enumerate(labels[6:8]):
            fnt = font(base - 1, bold=(i == 0))
            w = p.text_size(label, fnt)[0] + 2 * max(10, base - 1)
            bx -= w
            _button(p, th, bx, dy + dh - 48, label, base - 1, primary=(i == 0), rnd=rnd)
            bx -= 10

    # Status bar.
    p.draw.rectangle((0, height - 26, width, height), fill=th.title_bar)
    status = f"Ready {rnd.randint(1, 999)} items {next(word_iter)}"
    p.text((10, height - 20), status, font(11), th.muted)

    return Screen(image=image, words=p.words, phrases=p.phrases, theme=th.name, seed=seed,
                  meta={"size": (width, height), "base_font": base})


def generate_screens(count: int, seed: int = 0) -> list[Screen]:
    """``count`` screens, alternating themes and sizes, deterministic by ``seed``."""
    screens = []
    for i in range(count):
        size = SIZES[(i // 2) % len(SIZES)]
        theme = "light" if i % 2 == 0 else "dark"
        screens.append(generate_screen(seed * 100_003 + i, size=size, theme=theme))
    return screens


def edit_screen(screen: Screen, seed: int) -> Screen:
    """The next frame of ``screen``: the same UI with a new status-bar message (what a screen
    looks like after a small action). Truth words of the old status bar are replaced."""
    rnd = random.Random(seed)
    image = screen.image.copy()
    width, height = image.size
    th = LIGHT if screen.theme == "light" else DARK
    p = _Painter(image)
    p.draw.rectangle((0, height - 26, width, height), fill=th.title_bar)
    status = f"Saved {rnd.randint(1, 999)} {rnd.choice(WORDS)} {rnd.choice(WORDS)}"
    p.text((10, height - 20), status, font(11), th.muted)
    kept = [w for w in screen.words if w.box[1] < height - 26]
    offset = max((w.phrase for w in kept), default=-1) + 1
    new = [TruthWord(w.text, w.box, w.phrase + offset) for w in p.words]
    phrases = [ph for ph in screen.phrases if ph[1][1] < height - 26] + p.phrases
    return Screen(image=image, words=kept + new, phrases=phrases, theme=screen.theme,
                  seed=seed, meta=dict(screen.meta, edited_from=screen.seed))
