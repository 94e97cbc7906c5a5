"""The UI-screenshot generator: deterministic, varied, and its truth matches its pixels."""

from __future__ import annotations

import numpy as np

from services.inference.testing.screens import generate_screen, generate_screens


def test_same_seed_same_pixels_and_truth() -> None:
    a, b = generate_screen(42), generate_screen(42)
    assert np.array_equal(np.asarray(a.image), np.asarray(b.image))
    assert a.words == b.words
    assert generate_screen(43).words != a.words


def test_sizes_and_themes_alternate() -> None:
    screens = generate_screens(4, seed=3)
    assert {s.image.size for s in screens} == {(1280, 720), (1280, 960)}
    assert {s.theme for s in screens} == {"light", "dark"}


def test_every_truth_box_lies_in_the_image_and_holds_ink() -> None:
    for s in generate_screens(4, seed=5):
        grey = np.asarray(s.image.convert("L")).astype(int)
        w, h = s.image.size
        assert len(s.words) > 50
        for word in s.words:
            x0, y0, x1, y1 = word.box
            assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h, word
            patch = grey[y0:y1, x0:x1]
            # Ink: the box is not one flat colour (the glyphs differ from the background).
            assert patch.max() - patch.min() > 60, word


def test_screens_have_buttons_phrases_and_small_and_large_fonts() -> None:
    s = generate_screens(6, seed=11)
    phrases = [p for screen in s for p, _ in screen.phrases]
    assert any(" " in p for p in phrases)
    heights = [w.box[3] - w.box[1] for screen in s for w in screen.words]
    assert min(heights) <= 10 and max(heights) >= 18


def test_edited_screen_changes_only_the_status_bar() -> None:
    from services.inference.testing.screens import edit_screen

    s = generate_screen(8)
    e = edit_screen(s, 80)
    diff = np.any(np.asarray(s.image) != np.asarray(e.image), axis=2)
    rows = np.flatnonzero(diff.any(axis=1))
    assert rows.size and rows.min() >= s.image.size[1] - 26
    assert "Saved" in [w.text for w in e.words]
    assert [w for w in e.words if w.box[1] < s.image.size[1] - 26] == \
        [w for w in s.words if w.box[1] < s.image.size[1] - 26]
