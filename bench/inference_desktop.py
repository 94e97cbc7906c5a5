"""The desktop evaluation set through gRPC, per category (``inference_accuracy --desktop``).

A real ``bytebot serve inference`` (cpu backend, default settings) in a process of its own;
each frame of a split of ``services/inference/testing/desktop_screens.py`` is sent as a PNG:

- DetectText once (the frame is new to the server: its frame cache cannot answer), scored per
  truth word: centre-hit = some region reads the word (ignoring case) with its centre inside
  the word's box;
- FindText (MATCH_MODE_EXACT, up to 100 matches) once per distinct truth text of the frame:
  a word counts as found when one of the matches has its centre inside that word's box, so a
  name shown twice must be returned twice;
- with ``--tk N``: N real Tk screenshots under Xvfb (``testing/tk_screens.py``, truth from
  Tk), scored the same way (tags ``tk``, ``tk_list``, ``tk_table``, ``tk_text``, ``tk_button``);
- with ``--xterm N``: N real xterm screenshots under Xvfb (``testing/xterm_screens.py``, truth
  from the measured cell grid; tags ``xterm``, ``xterm_prompt``, ``xterm_ls``, ``xterm_text``);
- the same frames through a bare single-pass Tesseract (tesserocr, PSM 11, grey frame, no
  preprocessing) in this process, for the latency ratio on a shared, noisy machine; the
  server's CPU seconds per DetectText (from /proc) beside the wall time.

Rates are per tag (a word has a content tag, its settings' tags, and its frame's font, theme,
antialiasing and size), with the number of words, so small categories are visible as such.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from typing import Any

import numpy as np

from services.inference.testing.desktop_screens import (
    frame_tags,
    generate_desktop,
    generate_split,
)
from services.inference.testing.scoring import inside
from services.inference.testing.screens import Screen

CONTENT = ("filename", "path_url", "email", "numeric", "camel_caps", "label")
SETTING = ("tk", "tk_list", "tk_table", "tk_text", "tk_button",
           "xterm", "xterm_prompt", "xterm_ls", "xterm_text",
           "icon", "table_cell", "alt_row", "selected", "disabled", "tooltip", "tab",
           "small_font", "large_font", "form", "button", "header", "title", "field")


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Tally:
    def __init__(self) -> None:
        self.n: dict[str, int] = defaultdict(int)
        self.hit: dict[str, int] = defaultdict(int)
        self.found: dict[str, int] = defaultdict(int)
        self.tess: dict[str, int] = defaultdict(int)
        self.misses: list[tuple[str, str, str]] = []  # (text, what, frame tags)

    def add(self, tags: tuple[str, ...], hit: bool, found: bool, tess: bool) -> None:
        for t in ("all", *tags):
            self.n[t] += 1
            self.hit[t] += hit
            self.found[t] += found
            self.tess[t] += tess

    def rows(self) -> list[str]:
        order = ["all", *CONTENT, *SETTING]
        order += sorted(t for t in self.n if ":" in t)
        out = [f"{'category':<26}{'words':>7}{'hit':>8}{'find':>8}{'tess hit':>10}"]
        for t in order:
            if self.n.get(t):
                n = self.n[t]
                out.append(f"{t:<26}{n:>7}{self.hit[t] / n:>8.3f}{self.found[t] / n:>8.3f}"
                           f"{self.tess[t] / n:>10.3f}")
        return out


def _png(s: Screen) -> bytes:
    return s.png()


def _hits(words: list[Any], regions: list[tuple[str, tuple[int, int, int, int]]]) -> list[bool]:
    out = []
    for w in words:
        ok = False
        for text, (x, y, bw, bh) in regions:
            if text.lower() == w.text.lower() and inside((x + bw / 2, y + bh / 2), w.box):
                ok = True
                break
        out.append(ok)
    return out


def run(split: str, frames: int, show_misses: int = 0, tk_frames: int = 0,
        xterm_frames: int = 0) -> int:
    import grpc
    from bytebot.common.v1 import common_pb2
    from bytebot.inference.v1 import inference_pb2 as pb
    from bytebot.inference.v1 import inference_pb2_grpc

    from bench.inference_accuracy import EngineOnly
    from services.tasks.testing.processes import running

    screens = generate_split(split, frames)
    if tk_frames:
        from services.inference.testing.tk_screens import grab_tk_split

        screens += grab_tk_split(split, tk_frames)
    if xterm_frames:
        from services.inference.testing.xterm_screens import grab_xterm_split

        screens += grab_xterm_split(split, xterm_frames)
    tess = EngineOnly("tesseract")
    tess.load()
    tally = Tally()
    lat: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    t_lat: dict[str, list[float]] = defaultdict(list)
    t_cpu: dict[str, list[float]] = defaultdict(list)
    print(f"desktop set, split {split!r}, {frames} generated + {tk_frames} Tk + "
          f"{xterm_frames} xterm frames; "
          f"{os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at start")
    with running("inference", {"backend": "cpu"}) as server, grpc.insecure_channel(
            server.grpc_target, options=[("grpc.max_send_message_length", 64 << 20)]) as ch:
        stub = inference_pb2_grpc.InferenceServiceStub(ch)
        assert server.proc is not None
        pid = server.proc.pid
        warm = generate_desktop(424_242)  # in neither split's first frames
        stub.DetectText(pb.DetectTextRequest(image=common_pb2.Image(data=_png(warm))),
                        timeout=120)
        for i, s in enumerate(screens):
            size = "{}x{}".format(*s.image.size)
            image = common_pb2.Image(data=_png(s), format=common_pb2.IMAGE_FORMAT_PNG)
            c0, t0 = _cpu_seconds(pid), time.perf_counter()
            r = stub.DetectText(pb.DetectTextRequest(image=image), timeout=120)
            lat[size].append(time.perf_counter() - t0)
            cpu[size].append(_cpu_seconds(pid) - c0)
            regions = [(g.text, (g.box.x, g.box.y, g.box.width, g.box.height))
                       for g in r.regions]
            hits = _hits(s.words, regions)
            # Bare Tesseract on the same frame, right after (same machine load).
            rgb = np.asarray(s.image)
            c0, t0 = time.process_time(), time.perf_counter()
            t_regions = tess.detect(rgb)
            t_lat[size].append(time.perf_counter() - t0)
            t_cpu[size].append(time.process_time() - c0)
            t_hits = _hits(s.words, [(g.text, (g.box.x, g.box.y, g.box.width, g.box.height))
                                     for g in t_regions])
            # FindText, exact, every distinct text once; each occurrence must be returned.
            centres: dict[str, list[tuple[int, int]]] = {}
            for text in dict.fromkeys(w.text for w in s.words):
                fr = stub.FindText(pb.FindTextRequest(
                    image=image, query=text,
                    options=pb.MatchOptions(mode=pb.MATCH_MODE_EXACT, max_results=100)),
                    timeout=120)
                centres[text] = [(m.center.x, m.center.y) for m in fr.matches]
            ftags = frame_tags(s)
            for w, hit, t_hit in zip(s.words, hits, t_hits, strict=True):
                found = any(inside(c, w.box) for c in centres[w.text])
                tally.add((*w.tags, *ftags), hit, found, t_hit)
                if not hit or not found:
                    got = [t for t, b in regions if inside((b[0] + b[2] / 2, b[1] + b[3] / 2),
                                                           w.box)]
                    tally.misses.append((w.text, f"hit={hit} find={found} read={got}",
                                         ",".join((*w.tags, *ftags))))
            print(f"  frame {i + 1}/{frames} done", file=sys.stderr)
        tess.close()
    print(f"load average {os.getloadavg()[0]:.2f} at the end (wall times are inflated by "
          "other work on the machine; compare with the bare Tesseract column of the same run "
          "and the CPU seconds)")
    print("\n".join(tally.rows()))
    print()
    print(f"{'DetectText':<12}{'frames':>7}{'p50':>8}{'p95':>8}{'cpu p50':>9}"
          f"{'tess p50':>10}{'tess p95':>10}{'tess cpu':>10}{'p50 ratio':>11}")
    ms = 1000
    for size in sorted(lat):
        ratio = _pct(lat[size], 0.5) / _pct(t_lat[size], 0.5)
        print(f"{size:<12}{len(lat[size]):>7}{_pct(lat[size], 0.5) * ms:>6.0f}ms"
              f"{_pct(lat[size], 0.95) * ms:>6.0f}ms{_pct(cpu[size], 0.5) * ms:>7.0f}ms"
              f"{_pct(t_lat[size], 0.5) * ms:>8.0f}ms{_pct(t_lat[size], 0.95) * ms:>8.0f}ms"
              f"{_pct(t_cpu[size], 0.5) * ms:>8.0f}ms{ratio:>11.2f}")
    if show_misses:
        print()
        for text, what, tags in tally.misses[:show_misses]:
            print(f"  miss {text!r}: {what} [{tags}]")
    return 0


__all__ = ["run"]
