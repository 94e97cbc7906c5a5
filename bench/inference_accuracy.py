"""Accuracy and latency of the inference backends on generated UI screenshots.

    .venv/bin/python -m bench.inference_accuracy            # 24 frames
    .venv/bin/python -m bench.inference_accuracy --quick    # 4 frames
    .venv/bin/python -m bench.inference_accuracy --frames 8 --tesseract-cost  # + Tesseract alone
    .venv/bin/python -m bench.inference_accuracy --desktop test --frames 24  # issue 14's set

``--desktop tune|test`` measures the desktop evaluation set instead, through gRPC, per category
(``bench/inference_desktop.py``); the pipeline is tuned on "tune" only, "test" is held out.

Per backend (the cpu pipeline, plus its engines alone for comparison): exact-text recall,
centre-hit rate (the right word, its returned centre inside the true box: what a click needs)
and p50/p95 latency (plus the median CPU seconds a frame costs, which load from other work
does not inflate), for DetectText and FindText separately. FindText asks for every truth
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
from contextlib import ExitStack
from typing import Any

import numpy as np

from services.inference import matching
from services.inference.backends.base import Rect, TextRegion
from services.inference.backends.select import coreml_available
from services.inference.cpu.backend import CpuBackend, CpuOptions
from services.inference.cpu.engines import RapidRecognizer, TesseractPool, find_tessdata
from services.inference.testing.scoring import inside, score_regions
from services.inference.testing.screens import Screen, edit_screen, generate_screens


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Run:
    """The measurements of one backend variant."""

    def __init__(self, name: str, backend: Any) -> None:
        self.name, self.backend = name, backend
        self.det_lat: list[float] = []
        self.det_lat_720: list[float] = []  # the goal's frame size alone
        self.det_cpu: list[float] = []
        self.words = self.exact = self.hits = 0
        self.next_lat: list[float] = []
        self.next_cpu: list[float] = []
        self.next_words = self.next_hits = 0
        self.find_first: list[float] = []
        self.find_first_cpu: list[float] = []
        self.find_cached: list[float] = []
        self.f_total = self.f_hits = 0

    def frame(self, s: Screen, find: bool) -> None:
        backend = self.backend
        rgb = np.asarray(s.image)
        backend.clear_caches()
        t, c = time.perf_counter(), time.process_time()
        regions: list[TextRegion] = backend.detect(rgb)
        self.det_lat.append(time.perf_counter() - t)
        if rgb.shape[:2] == (720, 1280):
            self.det_lat_720.append(self.det_lat[-1])
        # CPU seconds of all threads: what the frame costs, whatever else the machine runs.
        self.det_cpu.append(time.process_time() - c)
        sc, _ = score_regions(s, _rects(regions))
        self.words += sc.words
        self.exact += sc.exact
        self.hits += sc.centre_hits
        # The next frame: the same screen with a new status-bar message (caches warm).
        nxt = edit_screen(s, s.seed + 1)
        t, c = time.perf_counter(), time.process_time()
        regions = backend.detect(np.asarray(nxt.image))
        self.next_lat.append(time.perf_counter() - t)
        self.next_cpu.append(time.process_time() - c)
        sc, _ = score_regions(nxt, _rects(regions))
        self.next_words += sc.words
        self.next_hits += sc.centre_hits
        if not find:
            return
        backend.clear_caches()
        by_text: dict[str, list[tuple[int, int, int, int]]] = {}
        for w in s.words:
            by_text.setdefault(w.text, []).append(w.box)
        for text, box in s.phrases:
            if " " in text:
                by_text.setdefault(text, []).append(box)
        for i, (text, boxes) in enumerate(by_text.items()):
            t, c = time.perf_counter(), time.process_time()
            found = find_text(backend, rgb, text)
            (self.find_first if i == 0 else self.find_cached).append(time.perf_counter() - t)
            if i == 0:
                self.find_first_cpu.append(time.process_time() - c)
            self.f_total += 1
            if found is not None and any(inside(found, b) for b in boxes):
                self.f_hits += 1

    def row(self) -> str:
        f_hit = self.f_hits / self.f_total if self.f_total else float("nan")
        ms = 1000
        return (f"{self.name:<24}{self.words:>6}{self.exact / self.words:>7.3f}"
                f"{self.hits / self.words:>7.3f}"
                f"{_pct(self.det_cpu, 0.5) * ms:>8.0f}ms"
                f"{_pct(self.det_lat, 0.5) * ms:>7.0f}ms{_pct(self.det_lat, 0.95) * ms:>7.0f}ms"
                f"{_pct(self.det_lat_720, 0.5) * ms:>7.0f}ms"
                f"{_pct(self.next_cpu, 0.5) * ms:>7.0f}ms"
                f"{_pct(self.next_lat, 0.5) * ms:>7.0f}ms{self.next_hits / self.next_words:>7.3f}"
                f"{self.f_total:>7}{f_hit:>7.3f}{_pct(self.find_first_cpu, 0.5) * ms:>8.0f}ms"
                f"{_pct(self.find_first, 0.5) * ms:>7.0f}ms"
                f"{_pct(self.find_cached, 0.5) * ms:>8.1f}ms"
                f"{_pct(self.find_first + self.find_cached, 0.95) * ms:>7.0f}ms")

    @staticmethod
    def header() -> str:
        return (f"{'backend':<24}{'words':>6}{'exact':>7}{'hit':>7}{'det cpu':>10}"
                f"{'det p50':>9}{'det p95':>9}{'720 p50':>9}"
                f"{'nxt cpu':>9}{'nxt p50':>9}{'n.hit':>7}"
                f"{'find n':>7}{'f.hit':>7}{'f.1st cpu':>10}{'f.1st':>9}{'f.cached':>10}"
                f"{'f.p95':>9}")


class EngineOnly:
    """One engine alone on the raw frame, for reference: ``tesseract`` (tesserocr, one page,
    no preprocessing) or ``rapidocr`` (PP-OCR detection + recognition of the whole frame)."""

    def __init__(self, engine: str) -> None:
        self.engine = engine
        self._tess: TesseractPool | None = None
        self._rapid: RapidRecognizer | None = None

    def load(self) -> None:
        if self.engine == "tesseract":
            self._tess = TesseractPool(1, find_tessdata(), retry_inverted=True)
        else:
            self._rapid = RapidRecognizer(threads=2)

    def detect(self, rgb: np.ndarray) -> list[TextRegion]:
        if self._tess is not None:
            words = self._tess.recognize(np.ascontiguousarray(rgb[:, :, 0] * 0.299 + rgb[:, :, 1]
                                         * 0.587 + rgb[:, :, 2] * 0.114).astype(np.uint8))
        else:
            assert self._rapid is not None
            words = self._rapid.read_frame(rgb)
        return [TextRegion(w.text, Rect(*w.box), w.confidence, w.line) for w in words]

    def detect_more(self, rgb: np.ndarray) -> list[TextRegion]:
        return self.detect(rgb)

    def clear_caches(self) -> None:
        pass

    def close(self) -> None:
        if self._tess is not None:
            self._tess.close()


class GrpcRun:
    """DetectText through gRPC: `bytebot serve inference` (cpu backend, its caches off so
    every frame is read cold like the rows above) in a process of its own, each frame sent
    as a PNG encoded beforehand. Latency as a client sees it: transfer, decoding, OCR,
    response."""

    def __init__(self, stub: Any) -> None:
        self.stub = stub
        self.name = "cpu via gRPC DetectText"
        self.lat: list[float] = []
        self.lat_720: list[float] = []
        self.words = self.exact = self.hits = 0

    def frame(self, s: Screen, png: bytes) -> None:
        from bytebot.common.v1 import common_pb2
        from bytebot.inference.v1 import inference_pb2

        request = inference_pb2.DetectTextRequest(
            image=common_pb2.Image(data=png, format=common_pb2.IMAGE_FORMAT_PNG))
        t = time.perf_counter()
        response = self.stub.DetectText(request, timeout=60)
        self.lat.append(time.perf_counter() - t)
        if s.image.size == (1280, 720):
            self.lat_720.append(self.lat[-1])
        sc, _ = score_regions(s, [(r.text, (r.box.x, r.box.y, r.box.width, r.box.height))
                                  for r in response.regions])
        self.words += sc.words
        self.exact += sc.exact
        self.hits += sc.centre_hits

    def row(self) -> str:
        ms = 1000
        return (f"{self.name:<24}{self.words:>6}{self.exact / self.words:>7.3f}"
                f"{self.hits / self.words:>7.3f}{'':>10}"
                f"{_pct(self.lat, 0.5) * ms:>7.0f}ms{_pct(self.lat, 0.95) * ms:>7.0f}ms"
                f"{_pct(self.lat_720, 0.5) * ms:>7.0f}ms")


def _png(s: Screen) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", cv2.cvtColor(np.asarray(s.image), cv2.COLOR_RGB2BGR),
                            [cv2.IMWRITE_PNG_COMPRESSION, 1])
    assert ok
    return data.tobytes()


def _rects(regions: list[TextRegion]) -> list[tuple[str, tuple[int, int, int, int]]]:
    return [(r.text, (r.box.x, r.box.y, r.box.width, r.box.height)) for r in regions]


class TesseractCost:
    """Where Tesseract's time goes: one Tesseract call per frame in several set-ups, taking
    turns frame by frame, CPU seconds per call (``time.process_time``: all threads, not
    inflated by other work the way wall time is) and centre-hit."""

    def __init__(self) -> None:
        import tesserocr

        tessdata = find_tessdata()
        auto = tesserocr.PSM.AUTO
        # (name, page kind, scale, pool): "raw" is the grey screenshot, "prep" the normalised
        # page of preprocess.prepare (dark text on white, borders gone).
        self.variants = [
            ("raw grey, invert retry", "raw", 1.0, TesseractPool(1, tessdata, retry_inverted=True)),
            ("raw grey, no invert", "raw", 1.0, TesseractPool(1, tessdata)),
            ("prep x1.0, PSM 11", "prep", 1.0, TesseractPool(1, tessdata)),
            ("prep x1.25, PSM 11", "prep", 1.25, TesseractPool(1, tessdata)),
            ("prep x1.5, PSM 11", "prep", 1.5, TesseractPool(1, tessdata)),
            ("prep x1.5, PSM 3 (auto)", "prep", 1.5, TesseractPool(1, tessdata, psm=auto)),
        ]
        self.cpu: dict[str, list[float]] = {v[0]: [] for v in self.variants}
        self.score: dict[str, list[int]] = {v[0]: [0, 0] for v in self.variants}
        self.prep_cpu: list[float] = []

    def frame(self, s: Screen) -> None:
        import cv2

        from services.inference.cpu import preprocess

        rgb = np.asarray(s.image)
        c = time.process_time()
        prepared = preprocess.prepare(rgb).page
        self.prep_cpu.append(time.process_time() - c)
        raw = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
        for name, kind, scale, pool in self.variants:
            page = raw if kind == "raw" else prepared
            c = time.process_time()
            if scale != 1.0:
                page = cv2.resize(page, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
            words = pool.recognize(page)
            self.cpu[name].append(time.process_time() - c)
            rects = [(w.text, tuple(round(v / scale) for v in w.box)) for w in words]
            sc, _ = score_regions(s, rects)
            self.score[name][0] += sc.words
            self.score[name][1] += sc.centre_hits

    def report(self) -> str:
        lines = [f"{'tesseract set-up (one call/frame)':<34}{'hit':>7}{'cpu p50':>10}"
                 f"{'cpu min':>10}",
                 f"{'preprocess.prepare':<34}{'':>7}{_pct(self.prep_cpu, 0.5) * 1000:>8.0f}ms"
                 f"{min(self.prep_cpu) * 1000:>8.0f}ms"]
        for name, _kind, _scale, pool in self.variants:
            words, hits = self.score[name]
            lines.append(f"{name:<34}{hits / words:>7.3f}{_pct(self.cpu[name], 0.5) * 1000:>8.0f}ms"
                         f"{min(self.cpu[name]) * 1000:>8.0f}ms")
            pool.close()
        return "\n".join(lines)


def find_text(backend: Any, rgb: np.ndarray, query: str) -> tuple[int, int] | None:
    """What the servicer's FindText does: fast pass, then the thorough pass on a miss."""
    opts = matching.MatchOptions()
    found = matching.find(backend.detect(rgb), query, opts)
    if not found:
        found = matching.find(backend.detect_more(rgb), query, opts)
    return found[0].center if found else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="the cpu pipeline and Tesseract alone only, 4 frames unless --frames")
    ap.add_argument("--frames", type=int, default=None, help="frames (default 24)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-find", action="store_true", help="skip the FindText measurements")
    ap.add_argument("--rapidocr-reference", action="store_true",
                    help="also time PP-OCR alone on whole frames (seconds per frame)")
    ap.add_argument("--grpc", action="store_true",
                    help="also time DetectText through gRPC against `bytebot serve inference`")
    ap.add_argument("--tesseract-cost", action="store_true",
                    help="also time Tesseract alone in several set-ups (where its time goes)")
    ap.add_argument("--desktop", choices=("tune", "test"), default=None,
                    help="the desktop evaluation set (a split) through gRPC, per category")
    ap.add_argument("--tk", type=int, default=0,
                    help="with --desktop: also this many real Tk screenshots under Xvfb")
    ap.add_argument("--xterm", type=int, default=0,
                    help="with --desktop: also this many real xterm screenshots under Xvfb")
    ap.add_argument("--show-misses", type=int, default=0,
                    help="with --desktop: print this many missed words")
    args = ap.parse_args(argv)
    frames = args.frames or (4 if args.quick else 24)
    if args.desktop:
        from bench.inference_desktop import run

        return run(args.desktop, frames, args.show_misses, args.tk, args.xterm)
    variants: list[tuple[str, Callable[[], Any]]] = [
        ("cpu (pipeline, x1.25)", lambda: CpuBackend(CpuOptions())),
    ]
    if not args.quick:
        variants += [
            ("cpu, x1.5 upscale", lambda: CpuBackend(CpuOptions(upscale=1.5))),
            ("cpu, no upscale", lambda: CpuBackend(CpuOptions(upscale=1.0))),
            ("cpu, 1 thread", lambda: CpuBackend(CpuOptions(tesseract_threads=1, bands=1))),
            ("tesseract+prep only", lambda: CpuBackend(CpuOptions(use_rapidocr=False))),
        ]
    variants.append(("tesseract alone (ref)", lambda: EngineOnly("tesseract")))
    if args.rapidocr_reference:
        variants.append(("rapidocr alone (ref)", lambda: EngineOnly("rapidocr")))
    print(f"{frames} frames (1280x720 and 1280x960, light and dark), seed {args.seed}; "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start; "
          f"coreml backend: {'available' if coreml_available() else 'not available here'}")
    screens = generate_screens(frames, seed=args.seed)
    runs = []
    for name, make in variants:
        backend = make()
        backend.load()
        backend.detect(np.asarray(screens[0].image))  # warm-up: first-run allocations
        runs.append(Run(name, backend))
    cost = TesseractCost() if args.tesseract_cost else None
    with ExitStack() as stack:
        grpc_run = None
        if args.grpc:
            import grpc
            from bytebot.inference.v1 import inference_pb2_grpc

            from services.tasks.testing.processes import running

            server = stack.enter_context(running("inference", {
                "backend": "cpu", "ocr_cache_entries": 0}))
            channel = stack.enter_context(grpc.insecure_channel(server.grpc_target, options=[
                ("grpc.max_send_message_length", 64 << 20)]))
            stub = inference_pb2_grpc.InferenceServiceStub(channel)
            GrpcRun(stub).frame(screens[0], _png(screens[0]))  # warm-up
            grpc_run = GrpcRun(stub)
        # Variants take turns on every frame: load from other work on the machine hits all
        # alike.
        for i, s in enumerate(screens):
            for run in runs:
                run.frame(s, find=not args.no_find)
            if grpc_run is not None:
                grpc_run.frame(s, _png(s))
            if cost is not None:
                cost.frame(s)
            print(f"  frame {i + 1}/{frames} done", file=sys.stderr)
    for run in runs:
        run.backend.close()
    head = Run.header()
    print(f"load average {os.getloadavg()[0]:.2f} at the end (other work on the machine "
          "inflates wall times; the cpu columns are CPU seconds of all threads; compare rows "
          "of one run)")
    print(head)
    print("-" * len(head))
    for run in runs:
        print(run.row())
    if grpc_run is not None:
        print(grpc_run.row())
    if cost is not None:
        print()
        print(cost.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
