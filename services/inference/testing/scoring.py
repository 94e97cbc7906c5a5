"""Scores OCR output against a generated screen's truth (used by tests and bench/).

- exact recall: the share of truth words that some region reproduces character for character
  with its box centre inside the word's true box;
- centre-hit: the same, ignoring case: the right word, clickable at the returned centre.
Regions are words (as DetectText returns them), boxes (x, y, width, height).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.inference.testing.screens import Screen, TruthWord


@dataclass(frozen=True)
class Score:
    words: int
    exact: int
    centre_hits: int

    @property
    def exact_recall(self) -> float:
        return self.exact / self.words if self.words else 1.0

    @property
    def centre_hit_rate(self) -> float:
        return self.centre_hits / self.words if self.words else 1.0


def inside(point: tuple[float, float], box: tuple[int, int, int, int]) -> bool:
    x, y = point
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def region_center(box: tuple[int, int, int, int]) -> tuple[float, float]:
    """Centre of an (x, y, width, height) rect."""
    return (box[0] + box[2] / 2, box[1] + box[3] / 2)


def score_regions(screen: Screen, regions: Sequence[tuple[str, tuple[int, int, int, int]]]
                  ) -> tuple[Score, list[TruthWord]]:
    """``regions`` are (text, (x, y, width, height)). Returns the score and the missed words."""
    exact = hits = 0
    missed = []
    for word in screen.words:
        got_exact = got_hit = False
        for text, rect in regions:
            c = region_center(rect)
            if not inside(c, word.box):
                continue
            if text == word.text:
                got_exact = got_hit = True
                break
            if text.lower() == word.text.lower():
                got_hit = True
        exact += got_exact
        hits += got_hit
        if not got_hit:
            missed.append(word)
    return Score(len(screen.words), exact, hits), missed
