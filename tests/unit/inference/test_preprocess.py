"""preprocess: contour-traced component boxes agree with OpenCV's connected components, and
lone upright marks (box sides) go while the same mark beside other ink stays."""

from __future__ import annotations

import cv2
import numpy as np

from services.inference.cpu.preprocess import (
    _component_boxes,
    _drop_isolated_uprights,
    find_blobs,
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
