"""The desktop evaluation-set generator: deterministic, disjoint splits, every category drawn,
truth boxes on ink (greyscale and subpixel antialiasing)."""

from __future__ import annotations

import numpy as np

from services.inference.testing.desktop_screens import (
    FAMILIES,
    frame_tags,
    generate_desktop,
    generate_split,
    missing_fonts,
    split_seeds,
)

CATEGORIES = {"filename", "path_url", "email", "numeric", "camel_caps", "label", "icon",
              "table_cell", "alt_row", "selected", "disabled", "tooltip", "tab", "small_font",
              "large_font"}


def test_the_font_packages_are_installed_and_there_are_at_least_8_families() -> None:
    assert missing_fonts() == []
    assert len(FAMILIES) >= 8


def test_same_seed_same_pixels_and_truth() -> None:
    a, b = generate_desktop(5), generate_desktop(5)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert a.words == b.words
    assert generate_desktop(6).words != a.words


def test_splits_are_disjoint_and_cover_every_category_size_theme_and_aa() -> None:
    assert not set(split_seeds("tune", 500)) & set(split_seeds("test", 500))
    screens = generate_split("test", 9)
    tags = {t for s in screens for w in s.words for t in w.tags}
    assert CATEGORIES <= tags, CATEGORIES - tags
    frames = {t for s in screens for t in frame_tags(s)}
    assert {"size:1280x720", "size:1280x960", "size:1920x1080", "theme:light", "theme:dark",
            "theme:high-contrast", "aa:greyscale", "aa:subpixel"} <= frames


def test_truth_boxes_hold_ink_and_subpixel_text_has_colour_fringes() -> None:
    for aa in ("greyscale", "subpixel"):
        s = generate_desktop(11, size=(1280, 720), theme="light", aa=aa, family="Arimo")
        rgb = np.asarray(s.image).astype(int)
        grey = rgb.mean(axis=2)
        for word in s.words:
            x0, y0, x1, y1 = word.box
            assert 0 <= x0 < x1 <= 1280 and 0 <= y0 < y1 <= 720, word
            patch = grey[y0:y1, x0:x1]
            assert patch.max() - patch.min() > 60, word  # ink in the box
        fringe = np.abs(rgb[..., 0] - rgb[..., 2]).max(axis=None)
        # Black on white: greyscale AA keeps R == B; LCD AA colours the glyph edges.
        word = next(w for w in s.words if "filename" in w.tags and "selected" not in w.tags)
        x0, y0, x1, y1 = word.box
        edge = np.abs(rgb[y0:y1, x0:x1, 0] - rgb[y0:y1, x0:x1, 2]).max()
        assert (edge > 40) == (aa == "subpixel"), (aa, edge, fringe)
