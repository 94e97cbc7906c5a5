"""preprocess: contour-traced component boxes agree with OpenCV's connected components, and
lone upright marks (box sides) go while the same mark beside other ink stays."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.inference.cpu.preprocess import (
    _bar_segments,
    _component_boxes,
    _drop_isolated_uprights,
    find_blobs,
    prepare,
    to_gray,
)
from services.inference.testing.screens import generate_screens


def _cc_boxes(mask: np.ndarray) -> set[tuple[int, int, int, int]]:
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return {tuple(int(v) for v in stats[i][:4]) for i in range(1, n)}


def test_component_boxes_match_connected_components_on_a_screen() -> None:
    screen = generate_screens(1, seed=5)[0]
    _, ink = find_blobs(to_gray(np.asarray(screen.image)))
    assert ink.any()
    assert set(_component_boxes(ink)) == _cc_boxes(ink)


def test_component_boxes_include_marks_inside_holes() -> None:
    mask = np.zeros((60, 60), np.uint8)
    mask[5:51, 5:51] = 1  # a ring 2 px thick ...
    mask[7:49, 7:49] = 0
    mask[25:30, 25:30] = 1  # ... with a dot in its hole
    assert set(_component_boxes(mask)) == _cc_boxes(mask) == {(5, 5, 46, 46), (25, 25, 5, 5)}


def test_lone_uprights_are_dropped_and_uprights_with_neighbours_kept() -> None:
    ink = np.zeros((40, 100), np.uint8)
    ink[5:30, 10:12] = 1  # alone: a box side
    ink[5:30, 50:52] = 1  # an "l" ...
    ink[15:30, 54:60] = 1  # ... with the rest of its word 2 px away
    _drop_isolated_uprights(ink)
    assert not ink[:, 10:12].any()
    assert ink[5:30, 50:52].all() and ink[15:30, 54:60].all()


def _list_box(rows: list[str], size: int = 13, selected: int | None = None,
              pitch: int | None = None) -> tuple[np.ndarray, int, int]:
    """A white list box with a 1 px border on a dark window, rows packed without spacing
    (as Tk draws a Listbox), row ``selected`` white on a blue bar; returns the grey image,
    the border's column and the row pitch."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/liberation/LiberationSerif-Regular.ttf",
                              size)
    pitch = pitch or size + 2
    img = Image.new("L", (320, 30 + pitch * len(rows)), 0x2B)
    draw = ImageDraw.Draw(img)
    draw.rectangle((10, 10, 300, 12 + pitch * len(rows)), fill=255, outline=0x99)
    for i, text in enumerate(rows):
        top = 11 + i * pitch
        if i == selected:
            draw.rectangle((11, top, 299, top + pitch - 1), fill=0x5D)  # Tk's blue, in grey
            # Tk's "dotbox" around the active row: dotted, so no line filter takes it,
            # and it glues the bar's text to the rows above and below.
            for x in range(12, 299, 2):
                draw.point([(x, top), (x, top + pitch - 1)], fill=0)
            for y in range(top, top + pitch, 2):
                draw.point([(12, y), (298, y)], fill=0)
        draw.text((12, top), text, font=font, fill=255 if i == selected else 0x20)
    return np.asarray(img), 10, pitch


def test_packed_list_rows_keep_their_dots_and_underscores_and_lose_the_border() -> None:

    rows = ["__init__.py", "Index_sample_agenda.xlsx", "budget-banner.docx", "Dockerfile",
            "utils_forecast_copy.7z", "old.letter.md", "print_list.txt", "figure_ij.jpg"]
    gray, border, pitch = _list_box(rows)
    prepared = prepare(np.dstack([gray] * 3))
    lines = sorted((b for b in prepared.blobs if b.x < 300), key=lambda b: b.y)
    assert len(lines) == len(rows)
    for i, blob in enumerate(lines):
        top = 11 + i * pitch
        ink_rows = np.flatnonzero((gray[top:top + pitch, border + 2:300] < 128).sum(axis=1) > 2)
        # The line's box holds its underscores and descenders (an i's dot may fall outside:
        # the painting's padding covers it).
        assert blob.y <= top + ink_rows[0] + 2 and blob.y + blob.height >= top + ink_rows[-1] + 1
        assert blob.x > border, blob  # the border is not part of the first glyph
    # Painted dark-on-white, the border next to the first letters stays white.
    assert (prepared.page[lines[0].y:lines[-1].y + lines[-1].height, border - 1:border + 2]
            > 200).all()


def test_a_dash_standing_a_space_from_both_words_is_a_blob_of_its_row() -> None:
    from PIL import Image, ImageDraw, ImageFont

    fnt = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 14)
    img = Image.new("RGB", (300, 30), (240, 240, 240))
    # A title bar's spacing: wider than the blob merge bridges.
    ImageDraw.Draw(img).text((10, 8), "notes.txt   -   Files", font=fnt, fill=(20, 20, 20))
    dash_x = 10 + fnt.getlength("notes.txt   ")
    blobs = prepare(np.asarray(img)).blobs
    dash = [b for b in blobs if b.x <= dash_x + 2 and dash_x + 3 <= b.x + b.width
            and b.width < 12]
    assert len(dash) == 1 and dash[0].height >= 8  # the row's height, not the dash's
    # A flat rule alone (no words beside it) stays out.
    img = Image.new("RGB", (300, 30), (240, 240, 240))
    ImageDraw.Draw(img).line((100, 15, 106, 15), fill=(20, 20, 20))
    assert prepare(np.asarray(img)).blobs == []


@pytest.mark.parametrize("selected", [0, 1, 2])
def test_a_selected_row_among_packed_rows_is_a_line_of_its_own_painted_dark_on_white(
        selected: int) -> None:
    # Three rows (one component shorter than a tall list): the bar at the top, the middle
    # or the bottom. Kept in one blob with the others, the bar was painted black and its
    # text lost.
    rows = ["Resume_parser_4.log", "table-copy-budget-final.tar.gz", "scan-Q4.xlsx"]
    gray, border, pitch = _list_box(rows, size=15, selected=selected)
    prepared = prepare(np.dstack([gray] * 3))
    top, end = 11 + selected * pitch, 11 + (selected + 1) * pitch
    blobs = [b for b in prepared.blobs if b.x < 300]
    # One blob is the bar's line; none reaches across the bar's edges.
    assert [b for b in blobs if top - 2 <= b.y and b.y + b.height <= end + 2], blobs
    assert all(b.y + b.height <= top + 2 or b.y >= end - 2
               or (top - 2 <= b.y and b.y + b.height <= end + 2) for b in blobs), blobs
    bar = prepared.page[top:end, border + 2:298]
    # The bar's text is ink on a white page, as the other rows are.
    assert np.median(bar) == 255 and (bar < 100).mean() > 0.03
    # The list box's side, glued to the rows' blobs, is not painted beside their first
    # letters (it would read as "l" or "|").
    rows_end = 11 + len(rows) * pitch
    assert (prepared.page[11:rows_end, border - 1:border + 1] > 200).all()


def test_a_dark_heading_is_not_a_bar() -> None:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 34)
    img = Image.new("L", (400, 60), 255)
    ImageDraw.Draw(img).text((10, 8), "MMMWWW mmm", font=font, fill=0)
    gray = np.asarray(img)
    assert _bar_segments(gray, 5, 5, 380, 50) is None
