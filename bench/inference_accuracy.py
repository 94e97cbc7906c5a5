"""Accuracy and latency of the inference backends on generated UI screenshots.

    .venv/bin/python -m bench.inference_accuracy            # 24 frames
    .venv/bin/python -m bench.inference_accuracy --quick    # 4 frames

Per backend (the cpu pipeline, plus its engines alone for comparison): exact-text recall,
centre-hit rate (the right word, its returned centre inside the true box: what a click needs)
and p50/p95 latency, for DetectText and FindText separately. FindText asks for every truth
word (and every multi-word phrase) once per frame, with the frame cache cleared per frame so
the first query pays the OCR pass and the later ones show the cached cost, as a worker asking
several questions about one screen would. "next" is DetectText on the following frame (the same
screen with a new status-bar message), where unchanged bands and crops come from the cache.
Only the cpu backend runs here; the coreml one needs macOS with the Core ML bridge.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable

import numpy as np

from services.inference import matching
from services.inference.backends.base import TextRegion
from services.inference.backends.select import coreml_available
from services.inference.cpu.backend import CpuBackend, CpuOptions
from services.inference.testing.scoring import inside, score_regions
from services.inference.testing.screens import edit_screen, generate_screens


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bench_backend(name: str, make: Callable[[], CpuBackend], frames: int, seed: int,
                  find: bool) -> dict[str, object]:
    backend = make()
    backend.load()
    screens = generate_screens(frames, seed=seed)
    warm = np.asarray(screens[0].image)
    backend.detect(warm)  # warm-up (model load, first-run allocations)
    det_lat, words, exact, hits = [], 0, 0, 0
    next_lat, next_words, next_hits = [], 0, 0
    find_first, find_cached, f_total, f_hits = [], [], 0, 0
    for s in screens:
        rgb = np.asarray(s.image)
        _clear(backend)
        t = time.perf_counter()
        regions: list[TextRegion] = backend.detect(rgb)
        det_lat.append(time.perf_counter() - t)
        sc, _ = score_regions(s, [(r.text, (r.box.x, r.box.y, r.box.width, r.box.height))
                                  for r in regions])
        words += sc.words
        exact += sc.exact
        hits += sc.centre_hits
        # The next frame: the same screen with a new status-bar message (caches warm).
        nxt = edit_screen(s, s.seed + 1)
        t = time.perf_counter()
        regions = backend.detect(np.asarray(nxt.image))
        next_lat.append(time.perf_counter() - t)
        sc, _ = score_regions(nxt, [(r.text, (r.box.x, r.box.y, r.box.width, r.box.height))
                                    for r in regions])
        next_words += sc.words
        next_hits += sc.centre_hits
        if not find:
            continue
        _clear(backend)
        queries = [(w.text, [w.box]) for w in s.words]
        queries += [(text, [box]) for text, box in s.phrases if " " in text]
        by_text: dict[str, list[tuple[int, int, int, int]]] = {}
        for text, boxes in queries:
            by_text.setdefault(text, []).extend(boxes)
        for i, (text, boxes) in enumerate(by_text.items()):
            t = time.perf_counter()
            found = find_text(backend, rgb, text)
            (find_first if i == 0 else find_cached).append(time.perf_counter() - t)
            f_total += 1
            if found is not None and any(inside(found, b) for b in boxes):
                f_hits += 1
    backend.close()
    return {
        "backend": name, "frames": frames, "words": words,
        "exact": exact / words, "hit": hits / words,
        "det_p50": _pct(det_lat, 0.5), "det_p95": _pct(det_lat, 0.95),
        "next_p50": _pct(next_lat, 0.5), "next_hit": next_hits / next_words,
        "find_n": f_total, "find_hit": (f_hits / f_total) if f_total else float("nan"),
        "find_first_p50": _pct(find_first, 0.5), "find_cached_p50": _pct(find_cached, 0.5),
        "find_all_p95": _pct(find_first + find_cached, 0.95),
    }


def find_text(backend: CpuBackend, rgb: np.ndarray, query: str) -> tuple[int, int] | None:
    """What the servicer's FindText does: fast pass, then the thorough pass on a miss."""
    opts = matching.MatchOptions()
    found = matching.find(backend.detect(rgb), query, opts)
    if not found:
        found = matching.find(backend.detect_more(rgb), query, opts)
    return found[0].center if found else None


def _clear(backend: CpuBackend) -> None:
    backend.clear_caches()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="4 frames, cpu pipeline only")
    ap.add_argument("--frames", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-find", action="store_true", help="skip the FindText measurements")
    args = ap.parse_args(argv)
    frames = 4 if args.quick else args.frames
    variants: list[tuple[str, Callable[[], CpuBackend]]] = [
        ("cpu (pipeline)", lambda: CpuBackend(CpuOptions())),
    ]
    if not args.quick:
        variants += [
            ("cpu, 1 thread", lambda: CpuBackend(CpuOptions(tesseract_threads=1))),
            ("cpu, no upscale", lambda: CpuBackend(CpuOptions(upscale=1.0))),
            ("tesseract+prep only", lambda: CpuBackend(CpuOptions(use_rapidocr=False))),
        ]
    print(f"{frames} frames (1280x720 and 1280x960, light and dark), seed {args.seed}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
          f"coreml backend: {'available' if coreml_available() else 'not available here'}")
    rows = [bench_backend(n, m, frames, args.seed, find=not args.no_find) for n, m in variants]
    head = (f"{'backend':<22}{'words':>6}{'exact':>7}{'hit':>7}{'det p50':>9}{'det p95':>9}"
            f"{'next p50':>9}{'n.hit':>7}"
            f"{'find n':>7}{'f.hit':>7}{'f.1st p50':>10}{'f.cached':>10}{'f.p95':>8}")
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine "
          "inflates latency; compare rows of one run)")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['backend']:<22}{r['words']:>6}{r['exact']:>7.3f}{r['hit']:>7.3f}"
              f"{r['det_p50'] * 1000:>7.0f}ms{r['det_p95'] * 1000:>7.0f}ms"
              f"{r['next_p50'] * 1000:>7.0f}ms{r['next_hit']:>7.3f}"
              f"{r['find_n']:>7}{r['find_hit']:>7.3f}{r['find_first_p50'] * 1000:>8.0f}ms"
              f"{r['find_cached_p50'] * 1000:>8.1f}ms{r['find_all_p95'] * 1000:>6.0f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
