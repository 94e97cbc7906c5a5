"""PP-OCR's recogniser whole vs cut to Latin script (services/inference/cpu/latin_head.py).

    .venv/bin/python -m bench.pp_ocr_latin_head [--frames 4] [--rounds 3]

Word crops of the desktop evaluation set's tune split (truth boxes, 3 px margin), read by both
recognisers in alternating rounds in one process, one onnxruntime thread each. Prints CPU
seconds per round, per crop, the ratio, and how many readings differ (the cut must change
none of a Latin screen's).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from services.inference.cpu.engines import RapidRecognizer
from services.inference.testing.desktop_screens import generate_split


def crops(frames: int) -> tuple[list[np.ndarray], list[str]]:
    images, truth = [], []
    for screen in generate_split("tune", frames):
        rgb = np.asarray(screen.image.convert("RGB"))
        for w in screen.words:
            x0, y0, x1, y1 = w.box
            images.append(rgb[max(0, y0 - 3):y1 + 3, max(0, x0 - 3):x1 + 3])
            truth.append(w.text)
    return images, truth


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args(argv)
    images, truth = crops(args.frames)
    recognisers = {"whole (18 710 classes)": RapidRecognizer(threads=1, latin_only=False),
                   "latin cut": RapidRecognizer(threads=1, latin_only=True)}
    cpu: dict[str, list[float]] = {name: [] for name in recognisers}
    texts: dict[str, list[str]] = {}
    print(f"{len(images)} word crops from {args.frames} tune frames; {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.2f}")
    for _ in range(args.rounds):
        for name, rec in recognisers.items():
            t0 = time.process_time()
            texts[name] = [t for t, _ in rec.recognize_crops(images)]
            cpu[name].append(time.process_time() - t0)
    whole, latin = (min(cpu[n]) for n in recognisers)
    for name in recognisers:
        exact = sum(t == w for t, w in zip(texts[name], truth, strict=True))
        best = min(cpu[name])
        print(f"{name:<24} best {best:6.2f} s  {best / len(images) * 1000:5.1f} ms/crop  "
              f"exact {exact}/{len(truth)}")
    a, b = texts.values()
    print(f"latin / whole CPU: {latin / whole:.2f}; readings that differ: "
          f"{sum(x != y for x, y in zip(a, b, strict=True))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
