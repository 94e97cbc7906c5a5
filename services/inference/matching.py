"""FindText matching: compares a query with recognised words, also across adjacent words.

A query of several words ("Save As") is compared with runs of consecutive words on one text
line (same row, small horizontal gaps), so it matches however the OCR split the line. Modes:
exact (case-sensitive equality), case-insensitive equality (default), contains (ignoring
case), fuzzy (RapidFuzz ratio ≥ min_similarity, ignoring case). Equality modes tolerate
punctuation OCR glues to a token's edges ("Name:", "(budget.ods)") at a slightly lower score.

Whole words (``whole_word``, for contains and fuzzy) follow one rule, chosen for desktop text
where file names, e-mail addresses and versions are single tokens: a *token* is a run of
characters between whitespace and the separators ``/ \\ ( ) [ ] { } < > " ' ` , ; : ! ? | =``
and curly quotes; ``. - _ @ + ~ # %`` are part of a token ("budget.ods", "my-file_2.tar.gz",
"ann@example.org" are one token each) except a trailing "." or "…" (sentence end). The query
must cover whole tokens: ``budget`` is a whole word in "budget:" or "/docs/budget/" but not in
"budget.ods" or "my-budget" (use contains for those); ``budget.ods`` is a whole word in
"/home/ann/budget.ods".

Results are sorted by score, then reading order (line top to bottom, then left to right), so
every occurrence of a repeated word is returned in a predictable order; boxes and centres are
in whole-image coordinates because the regions already are.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from services.inference.backends.base import Rect, TextRegion

MAX_QUERY_LENGTH = 256
MAX_RESULTS_LIMIT = 100
DEFAULT_MAX_RESULTS = 10
DEFAULT_MIN_SIMILARITY = 0.8
# OCR often glues punctuation to words ("Name:", "Save…"): stripped before comparing.
_EDGE_PUNCT = "\"'`.,:;!?()[]{}<>…|*“”\u2018\u2019«»"
# Whole-word token separators (see the module docstring), as a regex character class body.
_SEPARATORS = r"\s/\\()\[\]{}<>\"'`,;:!?|=“”" "\u2018\u2019«»"



class Mode(enum.Enum):
    EXACT = "exact"
    CASE_INSENSITIVE = "case_insensitive"
    CONTAINS = "contains"
    FUZZY = "fuzzy"


@dataclass(frozen=True)
class MatchOptions:
    mode: Mode = Mode.CASE_INSENSITIVE
    min_similarity: float = DEFAULT_MIN_SIMILARITY
    whole_word: bool = False
    max_results: int = DEFAULT_MAX_RESULTS


@dataclass(frozen=True)
class Match:
    region: TextRegion  # the matched run of words as one region (union box)
    center: tuple[int, int]
    score: float


def _norm_space(text: str) -> str:
    return " ".join(text.split())


def _strip_edges(text: str) -> str:
    return " ".join(t.strip(_EDGE_PUNCT) or t for t in text.split())


def group_lines(regions: Sequence[TextRegion]) -> list[list[TextRegion]]:
    """Words grouped into visual lines (vertical overlap, small gaps), each left to right."""
    rows: list[list[TextRegion]] = []
    for r in sorted(regions, key=lambda r: (r.box.x, r.box.y)):
        cy = r.box.y + r.box.height / 2
        best = None
        for row in rows:
            last = row[-1]
            lh = max(last.box.height, r.box.height)
            same_row = abs((last.box.y + last.box.height / 2) - cy) <= 0.5 * lh
            gap = r.box.x - last.box.right
            if same_row and -lh <= gap <= 1.5 * lh:
                best = row
                break
        if best is None:
            rows.append([r])
        else:
            best.append(r)
    rows.sort(key=lambda row: (row[0].box.y, row[0].box.x))
    return rows


def _score(candidate: str, query: str, options: MatchOptions) -> float:
    """0 when no match, else the quality 0-1 (1 = identical)."""
    cand = _norm_space(candidate)
    q = _norm_space(query)
    if options.mode is Mode.EXACT:
        if cand == q:
            return 1.0
        return 0.98 if _strip_edges(cand) == q else 0.0
    cl, ql = cand.lower(), q.lower()
    stripped = _strip_edges(cl)
    if ql in (cl, stripped):
        return 1.0 if ql == cl else 0.98
    if options.mode is Mode.CASE_INSENSITIVE:
        return 0.0
    if options.mode is Mode.CONTAINS:
        if options.whole_word:
            if _whole_word_in(ql, cl):
                return 0.9 * len(ql) / max(len(stripped), len(ql)) + 0.1
            return 0.0
        if ql in cl:
            return 0.9 * len(ql) / max(len(stripped), len(ql)) + 0.1
        return 0.0
    # FUZZY: whole words compare the full candidate; else the best partial alignment.
    if options.whole_word:
        sim = fuzz.ratio(stripped, ql) / 100.0
    else:
        sim = max(fuzz.ratio(stripped, ql), fuzz.partial_ratio(ql, stripped)
                  if len(stripped) >= len(ql) else 0) / 100.0
    return sim * 0.97 if sim >= options.min_similarity else 0.0


def _whole_word_in(query: str, text: str) -> bool:
    """Whether ``query`` occurs in ``text`` covering whole tokens (module docstring rule)."""
    before = rf"(?:^|(?<=[{_SEPARATORS}]))"
    after = rf"(?=$|[{_SEPARATORS}]|[.…]+(?:$|[{_SEPARATORS}]))"
    return re.search(before + re.escape(query) + after, text) is not None


def find(regions: Sequence[TextRegion], query: str, options: MatchOptions) -> list[Match]:
    """Matches of ``query`` among ``regions``, best first, at most ``options.max_results``."""
    q = _norm_space(query)
    n_query_words = len(q.split())
    matches: list[tuple[int, Match]] = []  # (line index, match): reading order
    for line_index, row in enumerate(group_lines(regions)):
        # Runs of up to n+1 words: OCR may split one word in two, or glue punctuation.
        max_len = n_query_words + 1 if options.mode is Mode.FUZZY else n_query_words
        for start in range(len(row)):
            for length in range(1, max_len + 1):
                run = row[start:start + length]
                if len(run) < length:
                    break
                text = " ".join(r.text for r in run)
                score = _score(text, q, options)
                if score <= 0:
                    continue
                box = run[0].box
                for r in run[1:]:
                    box = box.union(r.box)
                conf = min(r.confidence for r in run)
                region = TextRegion(text, box, conf, run[0].line)
                matches.append((line_index, Match(region, _centre(box), score)))
    # Best score first; equal scores (a word shown twice) in reading order.
    matches.sort(key=lambda lm: (-lm[1].score, lm[0], lm[1].region.box.x))
    return _dedupe([m for _, m in matches])[: options.max_results]


def _centre(box: Rect) -> tuple[int, int]:
    return (box.x + box.width // 2, box.y + box.height // 2)


def _dedupe(matches: list[Match]) -> list[Match]:
    """Keeps the best of matches whose boxes overlap (a run and its sub-run)."""
    kept: list[Match] = []
    for m in matches:
        b = m.region.box
        if any(_iou(b, k.region.box) > 0.3 for k in kept):
            continue
        kept.append(m)
    return kept


def _iou(a: Rect, b: Rect) -> float:
    ix = max(0, min(a.right, b.right) - max(a.x, b.x))
    iy = max(0, min(a.bottom, b.bottom) - max(a.y, b.y))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union else 0.0
