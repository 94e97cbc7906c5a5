"""A harder evaluation set: desktop screens full of file names, paths, numbers and punctuation.

``screens.py`` draws one layout in DejaVu Sans with an English vocabulary; the pipeline was
tuned on it. This generator draws what real desktops show, so accuracy is measured on text
the pipeline was not shaped around:

- a file manager: tabs, an address bar (path or URL), a sidebar of places with icons, a file
  table (icon + name, size, date, time, type) with alternating row colours and selected rows
  (light text on a saturated background);
- a details pane: a large heading, ``Label: value`` rows (e-mail addresses, currency, dates,
  CamelCase identifiers, ALLCAPS words, paths), enabled and disabled (low-contrast) buttons, a
  tooltip;
- a status bar in a 9-10 px font.

Every frame picks one of 13 font families from Debian packages (``tools/dev.sh`` installs
them), one of three themes (light, dark, high contrast), greyscale or subpixel (LCD, RGB
stripes, FreeType-like filter) antialiasing and one of 1280x720, 1280x960, 1920x1080.
Every drawn word carries tags: its content (``filename``, ``path_url``, ``email``,
``numeric``, ``camel_caps``, ``label``) and its setting (``icon``, ``table_cell``,
``alt_row``, ``selected``, ``disabled``, ``tooltip``, ``tab``, ``small_font``,
``large_font``); frames carry ``font:<family>``, ``theme:<name>``, ``aa:<mode>``,
``size:<w>x<h>`` (``frame_tags``). The bench reports the hit rate per tag.

Splits: ``split_seeds("tune", n)`` and ``split_seeds("test", n)`` draw from disjoint seed
ranges. Tuning looks only at "tune"; "test" is held out for the report. Deterministic: the
same seed gives the same pixels and truth (given the same font files).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from services.inference.testing.screens import Screen, TruthWord, word_boxes

SIZES: tuple[tuple[int, int], ...] = ((1280, 720), (1280, 960), (1920, 1080))
_TT = Path("/usr/share/fonts/truetype")
# family -> (regular, bold); Debian packages: fonts-dejavu-core, fonts-liberation2,
# fonts-cantarell, fonts-freefont-ttf, fonts-croscore, fonts-open-sans, fonts-noto-mono.
FONTS: dict[str, tuple[Path, Path]] = {
    "DejaVu Sans": (_TT / "dejavu/DejaVuSans.ttf", _TT / "dejavu/DejaVuSans-Bold.ttf"),
    "DejaVu Serif": (_TT / "dejavu/DejaVuSerif.ttf", _TT / "dejavu/DejaVuSerif-Bold.ttf"),
    "DejaVu Sans Mono": (_TT / "dejavu/DejaVuSansMono.ttf",
                         _TT / "dejavu/DejaVuSansMono-Bold.ttf"),
    "Liberation Sans": (_TT / "liberation2/LiberationSans-Regular.ttf",
                        _TT / "liberation2/LiberationSans-Bold.ttf"),
    "Liberation Serif": (_TT / "liberation2/LiberationSerif-Regular.ttf",
                         _TT / "liberation2/LiberationSerif-Bold.ttf"),
    "Liberation Mono": (_TT / "liberation2/LiberationMono-Regular.ttf",
                        _TT / "liberation2/LiberationMono-Bold.ttf"),
    "Cantarell": (Path("/usr/share/fonts/opentype/cantarell/Cantarell-Regular.otf"),
                  Path("/usr/share/fonts/opentype/cantarell/Cantarell-Bold.otf")),
    "FreeSans": (_TT / "freefont/FreeSans.ttf", _TT / "freefont/FreeSansBold.ttf"),
    "Arimo": (_TT / "croscore/Arimo-Regular.ttf", _TT / "croscore/Arimo-Bold.ttf"),
    "Cousine": (_TT / "croscore/Cousine-Regular.ttf", _TT / "croscore/Cousine-Bold.ttf"),
    "Tinos": (_TT / "croscore/Tinos-Regular.ttf", _TT / "croscore/Tinos-Bold.ttf"),
    "Open Sans": (_TT / "open-sans/OpenSans-Regular.ttf", _TT / "open-sans/OpenSans-Bold.ttf"),
    "Noto Sans Mono": (_TT / "noto/NotoSansMono-Regular.ttf",
                       _TT / "noto/NotoSansMono-Bold.ttf"),
}
FAMILIES = tuple(FONTS)
AA_MODES = ("greyscale", "subpixel")
SPLIT_BASE = {"tune": 1_000_000, "test": 9_000_000}


@dataclass(frozen=True)
class DesktopTheme:
    name: str
    bg: str
    panel: str
    text: str
    muted: str
    disabled: str  # low-contrast text of disabled controls
    alt_row: str
    selection: str  # saturated
    selection_text: str  # light
    border: str
    field_bg: str
    tooltip_bg: str
    tooltip_text: str
    tab_active: str
    icon_colors: tuple[str, ...]


THEMES = {
    "light": DesktopTheme("light", "#ffffff", "#f2f2f2", "#1d1d1d", "#5f6368", "#a8a8a8",
                          "#f4f6f9", "#2a62c9", "#ffffff", "#c8c8c8", "#ffffff", "#ffffe1",
                          "#1d1d1d", "#ffffff", ("#e8a33d", "#3b7dd8", "#43a047", "#8e44ad")),
    "dark": DesktopTheme("dark", "#1f1f1f", "#2b2b2b", "#e3e3e3", "#a0a0a0", "#5e5e5e",
                         "#262a30", "#1565c0", "#ffffff", "#444444", "#303030", "#3c3c3c",
                         "#f0f0f0", "#3a3a3a", ("#f0b64a", "#64a5f5", "#66bb6a", "#ba68c8")),
    "high-contrast": DesktopTheme("high-contrast", "#000000", "#000000", "#ffffff", "#ffff00",
                                  "#8c8c8c", "#101010", "#7a00cc", "#ffffff", "#ffffff",
                                  "#000000", "#ffffff", "#000000", "#000000",
                                  ("#00ff00", "#00ffff", "#ffff00", "#ff80ff")),
}

WORDS = tuple(("budget report invoice notes backup photo draft summary plan agenda slides data "
         "results export import config settings main index utils test build release archive "
         "scan letter contract resume thesis chapter figure table sales forecast inventory "
         "payroll schedule minutes project client server module helper parser render "
         "logo banner icon theme sample demo final old new copy").split())
EXTENSIONS = ("ods", "xlsx", "csv", "py", "js", "ts", "rs", "go", "cpp", "h", "md", "txt",
              "pdf", "docx", "odt", "jpg", "JPG", "png", "svg", "json", "yaml", "toml", "log",
              "tar.gz", "tar.bz2", "zip", "7z", "deb", "iso", "sh", "html", "css")
SPECIAL_FILES = ("README.md", "Makefile", "Dockerfile", "CHANGELOG.md", "LICENSE",
                 "package-lock.json", "pyproject.toml", ".bashrc", ".gitignore", "setup.cfg",
                 "requirements.txt", "Cargo.lock", "index.html", "__init__.py")
PLACES = ("Home", "Desktop", "Documents", "Downloads", "Music", "Pictures", "Videos",
          "Trash", "Recent", "Starred", "Network", "Projects")
LABELS = ("Owner", "Author", "Email", "Contact", "Price", "Total", "Created", "Modified",
          "Opened", "Class", "Symbol", "Status", "Location", "Server", "Tag", "Amount",
          "Due", "Version", "Account")
BUTTONS = ("Open", "Rename", "Delete", "Share", "Copy", "Move", "Compress", "Extract",
           "Upload", "Restore", "Properties", "Cancel", "Apply", "Browse", "Save", "Print")
CAMEL = ("getUserName", "HttpClient", "XMLHttpRequest", "MainWindow", "onClick", "parseJSON",
         "FileManager", "setTimeout", "DataFrame", "iPhone", "macOS", "GitHub", "PostgreSQL",
         "JavaScript", "TypeScript", "OpenOffice", "LibreOffice", "NumPy", "README", "TODO",
         "HTTP", "NOTE", "WARNING", "CPU", "FAQ", "USB", "PDF", "ERROR", "DEBUG", "API")
TOOLTIPS = ("Open in new tab", "Copy file path", "Show hidden files", "Sort by name",
            "Compress selected items", "Move to Trash", "Last modified 2 hours ago")
NAMES = ("ann", "bob", "carol", "dave", "eve", "frank", "grace", "li.wei", "j.smith", "o_brien")
DOMAINS = ("example.org", "example.com", "mail.example.net", "corp.example.io")


@dataclass(frozen=True)
class TaggedWord(TruthWord):
    """A truth word with its category tags."""

    tags: tuple[str, ...] = ()


@lru_cache(maxsize=256)
def _font(family: str, size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    path = FONTS[family][1 if bold else 0]
    if not path.is_file():
        raise FileNotFoundError(f"{path} missing: run tools/dev.sh (installs the font packages)")
    return ImageFont.truetype(str(path), size)


def missing_fonts() -> list[str]:
    return [str(p) for pair in FONTS.values() for p in pair if not p.is_file()]


# -- content -------------------------------------------------------------------------------
def filename(rnd: random.Random) -> str:
    if rnd.random() < 0.15:
        return rnd.choice(SPECIAL_FILES)
    parts = [rnd.choice(WORDS) for _ in range(rnd.randint(1, 3))]
    sep = rnd.choice(["_", "-", ".", "_", "-"])
    if rnd.random() < 0.4:
        parts[0] = parts[0].capitalize()
    if rnd.random() < 0.5:
        parts.append(rnd.choice([f"{rnd.randint(1, 9)}", f"{rnd.randint(2019, 2026)}",
                                 f"{rnd.randint(0, 9999):04d}", f"v{rnd.randint(1, 12)}",
                                 f"Q{rnd.randint(1, 4)}", "final", "copy"]))
    return sep.join(parts) + "." + rnd.choice(EXTENSIONS)


def path_or_url(rnd: random.Random) -> str:
    kind = rnd.random()
    pool = (*WORDS, "src", "docs", "tmp", "lib")
    dirs = "/".join(rnd.choice(pool) for _ in range(rnd.randint(1, 3)))
    if kind < 0.4:
        return f"/home/{rnd.choice(NAMES[:6])}/{rnd.choice(PLACES[:6])}/{dirs}"
    if kind < 0.55:
        return f"~/{dirs}/{filename(rnd)}"
    if kind < 0.85:
        scheme = rnd.choice(["https", "http"])
        host = rnd.choice(["www.example.org", "docs.example.com", "localhost:8080",
                           "192.168.1.20:3000", "git.example.io"])
        return f"{scheme}://{host}/{dirs}"
    return f"/var/log/{rnd.choice(['syslog', 'nginx/access.log', 'apt/history.log'])}"


def email(rnd: random.Random) -> str:
    user = rnd.choice(NAMES)
    if rnd.random() < 0.4:
        user += str(rnd.randint(1, 99))
    return f"{user}@{rnd.choice(DOMAINS)}"


def number(rnd: random.Random) -> str:
    kind = rnd.randrange(10)
    y, m, d = rnd.randint(2019, 2026), rnd.randint(1, 12), rnd.randint(1, 28)
    return [
        f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y % 100:02d}",
        f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}",
        f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}:{rnd.randint(0, 59):02d}",
        f"${rnd.randint(1, 9999):,}.{rnd.randint(0, 99):02d}",
        f"{rnd.randint(1, 999)},{rnd.randint(0, 99):02d}",
        f"{rnd.choice(['+', '-', ''])}{rnd.randint(0, 99)}.{rnd.randint(0, 9)}%",
        f"{rnd.randint(1, 99_999):,}",
        f"v{rnd.randint(0, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 9)}",
    ][kind]


def size_text(rnd: random.Random) -> str:
    return f"{rnd.randint(1, 999)}.{rnd.randint(0, 9)} {rnd.choice(['KB', 'MB', 'GB', 'bytes'])}"


def content_tag(text: str) -> str:
    """The content category of a drawn token."""
    t = text.strip(":,()")
    if "@" in t:
        return "email"
    if ("/" in t and any(ch.isalpha() for ch in t)) or t.startswith(("http", "~")):
        return "path_url"
    if any(t.endswith("." + e) for e in EXTENSIONS) or t in SPECIAL_FILES:
        return "filename"
    if any(ch.isdigit() for ch in t) and not any(ch.isalpha() for ch in t.strip("v%")):
        return "numeric"
    if t in CAMEL or (len(t) > 2 and t[1:] != t[1:].lower() and t.isalpha()):
        return "camel_caps"
    return "label"


# -- drawing -------------------------------------------------------------------------------
class DesktopPainter:
    """Draws text (greyscale or subpixel antialiased) and records each word with its tags."""

    def __init__(self, image: Image.Image, aa: str) -> None:
        self.image = image
        self.draw = ImageDraw.Draw(image)
        self.aa = aa
        self.words: list[TaggedWord] = []
        self.phrases: list[tuple[str, tuple[int, int, int, int]]] = []

    def size(self, text: str, fnt: ImageFont.FreeTypeFont) -> tuple[int, int]:
        left, _top, right, bottom = self.draw.textbbox((0, 0), text, font=fnt)
        return int(right - left + 0.999), int(bottom + 0.999)

    def text(self, xy: tuple[int, int], text: str, fnt: ImageFont.FreeTypeFont, fill: str,
             tags: tuple[str, ...] = ()) -> tuple[int, int, int, int]:
        x, y = xy
        if self.aa == "subpixel":
            self._subpixel(x, y, text, fnt, fill)
        else:
            self.draw.text((x, y), text, font=fnt, fill=fill)
        phrase = len(self.phrases)
        boxes = []
        for token, box in word_boxes(self.draw, (x, y), text, fnt):
            self.words.append(TaggedWord(token, box, phrase, (content_tag(token), *tags)))
            boxes.append(box)
        union = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                 max(b[2] for b in boxes), max(b[3] for b in boxes))
        self.phrases.append((text, union))
        return union

    def _subpixel(self, x: int, y: int, text: str, fnt: ImageFont.FreeTypeFont,
                  fill: str) -> None:
        """LCD antialiasing: coverage at 3x horizontal resolution (the text drawn 3x large,
        then shrunk 3x vertically only), FreeType's default 5-tap filter, one sample per
        colour channel, blended over the pixels already there."""
        w, h = self.size(text, fnt)
        w, h = w + 4, h + 4
        big = _font_path_size(fnt, 3)
        mask = Image.new("L", (3 * w, 3 * h), 0)
        ImageDraw.Draw(mask).text((0, 0), text, font=big, fill=255)
        cover = np.asarray(mask.resize((3 * w, h), Image.Resampling.BOX), dtype=np.float32)
        taps = np.array([8, 77, 86, 77, 8], dtype=np.float32) / 256.0
        padded = np.pad(cover, ((0, 0), (2, 2)))
        filtered = sum(taps[k] * padded[:, k:k + cover.shape[1]] for k in range(5))
        rgb_cover = np.stack([filtered[:, c::3][:, :w] for c in range(3)], axis=-1) / 255.0
        x1, y1 = min(self.image.width, x + w), min(self.image.height, y + h)
        if x1 <= x or y1 <= y:
            return
        rgb_cover = np.clip(rgb_cover[: y1 - y, : x1 - x], 0, 1)
        under = np.asarray(self.image.crop((x, y, x1, y1)), dtype=np.float32)
        colour = np.array(Image.new("RGB", (1, 1), fill).getpixel((0, 0)), dtype=np.float32)
        out = under * (1 - rgb_cover) + colour * rgb_cover
        self.image.paste(Image.fromarray(out.round().astype(np.uint8)), (x, y))


def _font_path_size(fnt: ImageFont.FreeTypeFont, factor: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(fnt.path, fnt.size * factor)


def _icon(p: DesktopPainter, x: int, y: int, size: int, colour: str, rnd: random.Random) -> None:
    """A small folder/file-like glyph (not text) next to a label."""
    shape = rnd.randrange(3)
    if shape == 0:
        p.draw.rectangle((x, y + size // 4, x + size, y + size), fill=colour)
        p.draw.rectangle((x, y + size // 8, x + size // 2, y + size // 4), fill=colour)
    elif shape == 1:
        p.draw.polygon([(x, y), (x + size * 2 // 3, y), (x + size, y + size // 3),
                        (x + size, y + size), (x, y + size)], fill=colour)
    else:
        p.draw.ellipse((x, y, x + size, y + size), fill=colour)


# -- the screen ----------------------------------------------------------------------------
def split_seeds(split: str, count: int) -> list[int]:
    """The seeds of a split ("tune" or "test"): disjoint ranges, never mixed."""
    return [SPLIT_BASE[split] + i for i in range(count)]


def generate_split(split: str, count: int) -> list[Screen]:
    """``count`` screens of a split; frame i cycles sizes, themes, AA modes and families so
    every value appears in a small set."""
    out = []
    for i, seed in enumerate(split_seeds(split, count)):
        out.append(generate_desktop(seed, size=SIZES[i % len(SIZES)],
                                    theme=tuple(THEMES)[(i + i // 3) % len(THEMES)],
                                    aa=AA_MODES[(i // 2) % 2],
                                    family=FAMILIES[(i * 5 + (seed % 7)) % len(FAMILIES)]))
    return out


def frame_tags(screen: Screen) -> tuple[str, ...]:
    m = screen.meta
    w, h = m["size"]  # type: ignore[misc]
    return (f"font:{m['family']}", f"theme:{screen.theme}", f"aa:{m['aa']}", f"size:{w}x{h}")


def generate_desktop(seed: int, size: tuple[int, int] | None = None, theme: str | None = None,
                     aa: str | None = None, family: str | None = None) -> Screen:
    """One file-manager-like desktop screen, deterministic by its arguments."""
    rnd = random.Random(seed)
    width, height = size or rnd.choice(SIZES)
    th = THEMES[theme or rnd.choice(tuple(THEMES))]
    aa = aa or rnd.choice(AA_MODES)
    family = family or rnd.choice(FAMILIES)
    scale = height / 720
    base = rnd.choice([11, 12, 13, 14, 15]) + (1 if width > 1280 else 0)
    small = rnd.choice([9, 10])
    large = rnd.choice([20, 24, 28, 32])
    f = lambda s, bold=False: _font(family, s, bold)  # noqa: E731
    image = Image.new("RGB", (width, height), th.bg)
    p = DesktopPainter(image, aa)

    # Title bar and tabs.
    p.draw.rectangle((0, 0, width, 28), fill=th.panel)
    p.text((12, 7), f"{filename(rnd)} - Files", f(13, True), th.text, ("title",))
    tab_y, tab_h = 32, base + 14
    x = 8
    for i in range(rnd.randint(3, 6)):
        label = rnd.choice([filename(rnd), rnd.choice(PLACES), rnd.choice(CAMEL)])
        tw, _ = p.size(label, f(base))
        if x + tw + 40 > width - 10:
            break
        active = i == 0
        p.draw.rectangle((x, tab_y, x + tw + 28, tab_y + tab_h),
                         fill=th.tab_active if active else th.panel, outline=th.border)
        p.text((x + 14, tab_y + 6), label, f(base, active), th.text if active else th.muted,
                ("tab",))
        x += tw + 34

    # Address bar (a path or URL in a field).
    ay = tab_y + tab_h + 8
    ah = base + 14
    p.draw.rectangle((8, ay, width - 8, ay + ah), fill=th.field_bg, outline=th.border)
    p.text((16, ay + 6), path_or_url(rnd), f(base), th.text, ("field",))

    # Sidebar of places with icons.
    top = ay + ah + 10
    side_w = int(rnd.choice([170, 190, 210]) * max(1.0, width / 1280))
    p.draw.rectangle((0, top, side_w, height - 24), fill=th.panel)
    row_h = base + 14
    y = top + 10
    for place in rnd.sample(PLACES, min(len(PLACES), int((height - 24 - top - 20) // row_h))):
        _icon(p, 12, y + 1, base, rnd.choice(th.icon_colors), rnd)
        p.text((20 + base, y), place, f(base), th.text, ("icon",))
        y += row_h

    # Details pane on the right.
    det_w = int(340 * max(1.0, width / 1280))
    dx = width - det_w
    table_x0, table_x1 = side_w + 10, dx - 12

    # File table: header + rows with alternating colours, one or two selected.
    cols = [("Name", 0.46), ("Size", 0.16), ("Modified", 0.22), ("Time", 0.16)]
    tw_total = table_x1 - table_x0
    hy = top + 4
    p.draw.rectangle((table_x0, hy, table_x1, hy + row_h), fill=th.panel, outline=th.border)
    cx = table_x0
    col_x = []
    for name, share in cols:
        col_x.append(cx)
        p.text((cx + 8, hy + 6), name, f(base, True), th.text, ("table_cell", "header"))
        cx += int(tw_total * share)
    col_x.append(table_x1)
    n_rows = int((height - 24 - hy - row_h - 10) // (row_h + 2))
    selected = set(rnd.sample(range(n_rows), rnd.randint(1, 2)))
    for i in range(n_rows):
        ry = hy + row_h + 2 + i * (row_h + 2)
        tags: tuple[str, ...] = ("table_cell",)
        colour = th.text
        if i in selected:
            p.draw.rectangle((table_x0, ry, table_x1, ry + row_h), fill=th.selection)
            tags += ("selected",)
            colour = th.selection_text
        elif i % 2:
            p.draw.rectangle((table_x0, ry, table_x1, ry + row_h), fill=th.alt_row)
            tags += ("alt_row",)
        name_w = col_x[1] - col_x[0] - base - 24
        for _ in range(6):
            name = filename(rnd)
            if p.size(name, f(base))[0] <= name_w:
                break
        else:
            name = rnd.choice(SPECIAL_FILES[:4])
        _icon(p, col_x[0] + 6, ry + 4, base, rnd.choice(th.icon_colors), rnd)
        p.text((col_x[0] + 14 + base, ry + 6), name, f(base), colour, (*tags, "icon"))
        cells = [size_text(rnd), number(rnd) if rnd.random() < 0.5 else
                 f"{rnd.randint(2019, 2026)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                 f"{rnd.randint(0, 23):02d}:{rnd.randint(0, 59):02d}"]
        for c, value in enumerate(cells, start=1):
            if p.size(value, f(base))[0] <= col_x[c + 1] - col_x[c] - 14:
                p.text((col_x[c] + 8, ry + 6), value, f(base),
                       colour if i in selected else th.muted if c == 1 else th.text, tags)

    # Details: heading, label/value rows, buttons, a tooltip.
    p.draw.rectangle((dx, top, width, height - 24), fill=th.panel)
    y = top + 12
    heading = rnd.choice(CAMEL + tuple(w.capitalize() for w in WORDS))
    box = p.text((dx + 14, y), heading, f(large, True), th.text, ("large_font",))
    y = box[3] + 14
    makers = [email, number, lambda r: r.choice(CAMEL), path_or_url, filename, number, email]
    lh = base + int(12 * scale)
    for label in rnd.sample(LABELS, 7):
        if y + lh > height - 150 * scale:
            break
        value = rnd.choice(makers)(rnd)
        lbox = p.text((dx + 14, y), f"{label}:", f(base), th.muted, ("form",))
        vx = lbox[2] + 10
        if vx + p.size(value, f(base))[0] < width - 10:
            p.text((vx, y), value, f(base), th.text, ("form",))
        y += lh
    y += 8
    bx = dx + 14
    for i, label in enumerate(rnd.sample(BUTTONS, 3)):
        disabled = i == 2 or rnd.random() < 0.2
        bw, bh = p.size(label, f(base))[0] + 24, base + 14
        if bx + bw > width - 10:
            break
        p.draw.rounded_rectangle((bx, y, bx + bw, y + bh), radius=4, fill=th.field_bg,
                                 outline=th.disabled if disabled else th.border)
        p.text((bx + 12, y + 6), label, f(base), th.disabled if disabled else th.text,
               ("button", "disabled") if disabled else ("button",))
        bx += bw + 10
    y += base + 26
    tip = rnd.choice(TOOLTIPS)
    tw, tth = p.size(tip, f(base - 1))
    if y + tth + 12 < height - 30 and dx + 24 + tw + 12 < width:
        p.draw.rectangle((dx + 24, y, dx + 24 + tw + 12, y + tth + 10), fill=th.tooltip_bg,
                         outline=th.border)
        p.text((dx + 30, y + 4), tip, f(base - 1), th.tooltip_text, ("tooltip",))

    # Status bar, small font.
    p.draw.rectangle((0, height - 22, width, height), fill=th.panel)
    status = f"{rnd.randint(2, 400)} items, {size_text(rnd)} free"
    p.text((10, height - 16), status, f(small), th.muted, ("small_font",))
    note = rnd.choice(CAMEL)
    p.text((width // 2, height - 16), f"{note} {filename(rnd)}", f(small), th.muted,
           ("small_font",))

    return Screen(image=image, words=list(p.words), phrases=p.phrases, theme=th.name,
                  seed=seed, meta={"size": (width, height), "family": family, "aa": aa,
                                   "base_font": base, "small_font": small,
                                   "large_font": large})


__all__ = ["FAMILIES", "SIZES", "THEMES", "TaggedWord", "frame_tags", "generate_desktop",
           "generate_split", "split_seeds"]
