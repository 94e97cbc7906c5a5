"""The CPU backend on generated screens: real Tesseract + PP-OCR, accuracy with margin.

Thresholds are far below what the pipeline measures (bench/inference_accuracy.py) so they
catch a broken pipeline, not a slow machine; nothing here is timed.
"""

from __future__ import annotations

import numpy as np
import pytest

from services.inference import matching
from services.inference.backends.base import Rect
from services.inference.cpu.backend import (
    CpuBackend,
    _bands,
    _blob_cost,
    _inked,
    _unread_stretches,
)
from services.inference.cpu.engines import OcrWord
from services.inference.cpu.preprocess import Blob, prepare
from services.inference.cpu.tokens import INK_LEVEL
from services.inference.testing.scoring import inside, score_regions
from services.inference.testing.screens import generate_screens

SCREENS = generate_screens(2, seed=21)  # one light 1280x720, one dark 1280x720


def _rects(regions):
    return [(r.text, (r.box.x, r.box.y, r.box.width, r.box.height)) for r in regions]


@pytest.mark.parametrize("index", [0, 1], ids=["light", "dark"])
def test_detect_text_reads_generated_screens(backend: CpuBackend, index: int) -> None:
    screen = SCREENS[index]
    regions = backend.detect(np.asarray(screen.image))
    score, missed = score_regions(screen, _rects(regions))
    assert score.centre_hit_rate >= 0.9, [w.text for w in missed]
    assert score.exact_recall >= 0.85
    assert all(0.0 <= r.confidence <= 1.0 for r in regions)
    # Reading order: line numbers never decrease.
    lines = [r.line for r in regions]
    assert lines == sorted(lines)


def test_find_text_gives_clickable_centres(backend: CpuBackend) -> None:
    screen = SCREENS[0]
    rgb = np.asarray(screen.image)
    regions = backend.detect(rgb)
    phrases = [(t, b) for t, b in screen.phrases if " " in t][:5]
    found = 0
    for text, box in phrases:
        got = matching.find(regions, text, matching.MatchOptions())
        if not got:
            got = matching.find(backend.detect_more(rgb), text, matching.MatchOptions())
        found += bool(got) and inside(got[0].center, box)
    assert found >= 4, phrases


def test_region_results_are_in_whole_image_coordinates(backend: CpuBackend) -> None:
    screen = SCREENS[0]
    rgb = np.asarray(screen.image)
    target = next(w for w in screen.words if w.box[0] > 300 and w.box[1] > 150
                  and len(w.text) >= 5)
    x0, y0, x1, y1 = target.box
    region = Rect(x0 - 40, y0 - 10, (x1 - x0) + 80, (y1 - y0) + 20)
    regions = backend.detect(rgb, region)
    hits = [r for r in regions if r.text.lower() == target.text.lower()]
    assert hits, [r.text for r in regions]
    assert inside(hits[0].box.center, target.box)
    assert all(region.x <= r.box.x and r.box.right <= region.right + 1 for r in regions)


def test_min_confidence_filters(backend: CpuBackend) -> None:
    rgb = np.asarray(SCREENS[1].image)
    everything = backend.detect(rgb)
    confident = backend.detect(rgb, min_confidence=0.9)
    assert confident and len(confident) < len(everything)
    assert all(r.confidence >= 0.9 for r in confident)


def test_identical_frames_are_answered_from_the_cache(backend: CpuBackend) -> None:
    rgb = np.asarray(SCREENS[0].image)
    backend.detect(rgb)
    hits = backend._cache.hits
    again = backend.detect(rgb.copy())
    assert backend._cache.hits == hits + 1
    changed = rgb.copy()
    changed[-5:, -5:] = 0  # one changed corner is a different frame
    assert backend.detect(changed) is not None
    assert backend._cache.hits == hits + 1
    assert again


def test_blank_and_tiny_images(backend: CpuBackend) -> None:
    assert backend.detect(np.full((50, 80, 3), 255, np.uint8)) == []
    assert backend.detect(np.zeros((1, 1, 3), np.uint8)) == []


def test_preprocess_finds_white_on_blue_button_labels() -> None:
    screen = SCREENS[0]
    prepared = prepare(np.asarray(screen.image))
    # Every truth word's centre lies in some blob: the fallback can see every word.
    covered = sum(any(b.x - 2 <= w.center[0] <= b.x + b.width + 2
                      and b.y - 2 <= w.center[1] <= b.y + b.height + 2
                      for b in prepared.blobs) for w in screen.words)
    assert covered / len(screen.words) >= 0.97
    assert prepared.page.dtype == np.uint8 and prepared.page.mean() > 200  # mostly white


def test_bands_cut_only_between_blobs() -> None:
    blobs = [Blob(0, y, 100, 14) for y in range(0, 700, 30)]
    bands = _bands(blobs, 720, 4)
    assert bands[0][0] == 0 and bands[-1][1] == 720
    for _top, bottom in bands[:-1]:
        assert not any(b.y - 2 <= bottom < b.y + b.height + 2 for b in blobs)


def test_bands_share_the_reading_evenly() -> None:
    # Dense wide lines in the top third, a few short labels below: equal-height bands would
    # give one thread nearly all the work.
    blobs = [Blob(10, y, 900, 14) for y in range(20, 260, 24)]
    blobs += [Blob(10, y, 60, 14) for y in range(400, 700, 60)]
    bands = _bands(blobs, 720, 2)
    assert len(bands) == 2
    costs = [sum(_blob_cost(b) for b in blobs if top <= b.y + b.height // 2 < bottom)
             for top, bottom in bands]
    assert bands[0][1] < 260  # the cut falls among the wide lines
    assert min(costs) / max(costs) > 0.6


def test_bands_of_an_empty_page_are_the_whole_page() -> None:
    assert _bands([], 720, 4) == [(0, 720)]


def test_ink_no_word_covers_inside_a_read_blob_is_found_as_its_own_stretches() -> None:
    ink = np.zeros((20, 120), bool)
    ink[5:15, 10:40] = True  # a word that was read
    ink[5:15, 48:54] = True  # a digit Tesseract dropped ("1" of "-rw-r--r-- 1 ann")
    ink[5:15, 62:100] = True  # another word that was read
    ink[12:15, 104:106] = True  # a 2 px mark: too small to be a glyph of this line
    blob = Blob(8, 3, 102, 14)
    read = [OcrWord("-rw-r--r--", (10, 5, 30, 10), 0.9, 0),
            OcrWord("ann", (62, 5, 38, 10), 0.9, 0)]
    assert _unread_stretches(blob, read, ink) == [Blob(48, 3, 6, 14)]
    assert _unread_stretches(blob, [*read, OcrWord("1", (48, 5, 6, 10), 0.9, 0)], ink) == []


def test_a_glyphs_tail_beside_a_read_word_or_a_lone_underscore_is_no_stretch() -> None:
    ink = np.zeros((20, 120), bool)
    ink[5:15, 10:42] = True  # a word Tesseract boxed one glyph short (box ends at 38)
    ink[14:15, 60:70] = True  # an underscore between words: a mark, not a word
    ink[5:15, 80:100] = True
    blob = Blob(8, 3, 102, 14)
    read = [OcrWord("Budget-2024", (10, 5, 28, 10), 0.9, 0),
            OcrWord("final", (80, 5, 20, 10), 0.9, 0)]
    assert _unread_stretches(blob, read, ink) == []


def _drawn(text: str, size: int = 16, font: str = "DejaVuSans.ttf"
           ) -> tuple[np.ndarray, list[int]]:
    """``text`` dark on a light row, and the x where each character starts."""
    from PIL import Image, ImageDraw, ImageFont

    fnt = ImageFont.truetype(f"/usr/share/fonts/truetype/dejavu/{font}", size)
    img = Image.new("RGB", (420, 40), (250, 250, 250))
    ImageDraw.Draw(img).text((10, 10), text, font=fnt, fill=(30, 30, 30))
    return np.asarray(img), [10 + round(fnt.getlength(text[:i])) for i in range(len(text) + 1)]


def test_pp_ocr_confirms_a_dot_tesseract_dropped_and_leaves_a_space_alone(
        backend: CpuBackend) -> None:
    rgb, xs = _drawn("Export.csv  budget.ods")
    # Tesseract's reading with the first dot dropped: one glued word, one correct name.
    read = [OcrWord("Exportcsv", (xs[0], 12, xs[10] - xs[0], 14), 0.7, 0),
            OcrWord("budget.ods", (xs[12], 12, xs[22] - xs[12], 14), 0.9, 0)]
    assert sorted(w.text for w in backend._confirm_separators(rgb, read)) \
        == ["Export.csv", "budget.ods"]
    # Words a space apart ending in an extension-like word stay as read.
    rgb, xs = _drawn("Save as PDF")
    read = [OcrWord(t, (xs[a], 12, xs[b] - xs[a], 14), 0.9, 0)
            for t, a, b in (("Save", 0, 4), ("as", 5, 7), ("PDF", 8, 11))]
    assert [w.text for w in backend._confirm_separators(rgb, read)] == ["Save", "as", "PDF"]


def test_letters_tesseract_dropped_before_a_mark_rejoin_their_word(
        backend: CpuBackend) -> None:
    from services.inference.cpu import tokens
    from services.inference.cpu.backend import _joined_only

    # An ls -l owner column in a terminal font: Tesseract read "smith" of "g.smith" (the
    # "g" is read by PP-OCR as an unread stretch and joined at the pixel-checked dot); the
    # second "smith" has nothing dropped before it and gets nothing.
    rgb, xs = _drawn("g.smith x smith", size=18, font="DejaVuSansMono.ttf")
    prepared = prepare(rgb)
    read = [OcrWord("smith", (xs[2], 14, xs[7] - xs[2], 13), 0.96, 0),
            OcrWord("smith", (xs[10], 14, xs[15] - xs[10], 13), 0.96, 0)]
    ink = prepared.page < tokens.INK_LEVEL
    words, tentative = backend._second_opinion(rgb, prepared, ink, read, 1)
    assert {t for t, _ in tentative} >= {"g"}
    kept = _joined_only(tokens.repair(words, prepared.page), tentative)
    assert sorted(w.text for w in kept) == ["g.smith", "smith"]


def test_a_blob_is_read_again_from_its_inks_rows_and_columns_only() -> None:
    ink = np.zeros((40, 120), bool)
    ink[12:24, 20:90] = True  # the text of a field whose border the page has lost
    assert _inked(Blob(5, 3, 110, 34), ink) == Blob(20, 12, 70, 12)
    assert _inked(Blob(100, 30, 10, 5), ink) == Blob(100, 30, 10, 5)  # no ink: as it was


def test_a_second_reading_of_a_fraction_of_what_tesseract_read_is_not_taken(
        backend: CpuBackend) -> None:
    rgb, _xs = _drawn("li.wei@mail.example.net")
    prepared = prepare(rgb)
    blob = max(prepared.blobs, key=lambda b: b.width)
    # Tesseract unsure of the whole line (so PP-OCR reads the blob again).
    read = [OcrWord("li.wei@mail.example.net", blob.box, 0.3, 0)]

    class OneLetter:  # PP-OCR sure of a single letter for the whole line
        def recognize_crops(self, crops):
            return [("e", 0.99)] * len(crops)

    saved, backend._rapid = backend._rapid, OneLetter()
    backend.clear_caches()
    try:
        words, _tentative = backend._second_opinion(
            rgb, prepared, prepared.page < INK_LEVEL, read, 1)
    finally:
        backend._rapid = saved
        backend.clear_caches()
    assert [w.text for w in words] == ["li.wei@mail.example.net"]


@pytest.mark.parametrize(("reading", "kept"), [("\u2013", False), ("_", False), ("7", True)])
def test_a_lone_mark_read_again_from_an_unread_blob_is_not_taken(
        backend: CpuBackend, reading: str, kept: bool) -> None:
    # An underscore of a selected row, a blob of its own that Tesseract left unread: the
    # Latin recogniser reads it as an en dash at 0.55. A lone digit is a word to keep.
    rgb, _xs = _drawn("budget_2023")
    prepared = prepare(rgb)

    class Sure:
        def recognize_crops(self, crops):
            return [(reading, 0.9)] * len(crops)

    saved, backend._rapid = backend._rapid, Sure()
    backend.clear_caches()
    try:
        words, _tentative = backend._second_opinion(
            rgb, prepared, prepared.page < INK_LEVEL, [], 1)
    finally:
        backend._rapid = saved
        backend.clear_caches()
    assert bool([w for w in words if w.text == reading]) == kept
