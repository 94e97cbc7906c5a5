"""Real programs under Xvfb (xterm, a Tk file browser) as evaluation frames: their truth boxes
hold the words' ink, and DetectText through gRPC reads most of them where they are."""

from __future__ import annotations

import shutil
from typing import Any

import numpy as np
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.inference.v1 import inference_pb2 as pb

from services.inference.testing.scoring import score_regions
from services.inference.testing.screens import Screen

if shutil.which("Xvfb") is None or shutil.which("xterm") is None:  # pragma: no cover
    pytest.skip("Xvfb or xterm is not installed (tools/dev.sh setup installs both)",
                allow_module_level=True)


@pytest.fixture(scope="module")
def frames() -> dict[str, Screen]:
    from services.inference.testing.tk_screens import grab_tk_split
    from services.inference.testing.xterm_screens import grab_xterm_split

    xterms = grab_xterm_split("tune", 2)  # the bitmap "fixed" font and an Xft one
    return {"xterm fixed": xterms[0], "xterm xft": xterms[1],
            "tk": grab_tk_split("tune", 1)[0]}


def _ink_share(screen: Screen) -> float:
    """Share of truth boxes holding pixels that differ from the box's own background."""
    grey = np.asarray(screen.image.convert("L")).astype(np.int16)
    inked = 0
    for w in screen.words:
        x0, y0, x1, y1 = w.box
        cell = grey[y0:y1, x0:x1]
        inked += cell.size > 0 and int(np.abs(cell - np.median(cell)).max()) > 80
    return inked / len(screen.words)


def test_real_program_truth_boxes_hold_their_words_ink(frames: dict[str, Screen]) -> None:
    for name, screen in frames.items():
        assert len(screen.words) >= 40, name
        width, height = screen.image.size
        assert all(0 <= w.box[0] < w.box[2] <= width and 0 <= w.box[1] < w.box[3] <= height
                   for w in screen.words), name
        assert _ink_share(screen) == 1.0, name
    xterm = frames["xterm fixed"]
    # The grid is measured: 6x13 cells of the server's bitmap font, rows one cell apart.
    first, second = xterm.words[0], xterm.words[1]
    assert first.box[3] - first.box[1] == 13 and (second.box[0] - first.box[0]) % 6 == 0


def test_detect_text_reads_real_programs_where_they_are(stub: Any,
                                                        frames: dict[str, Screen]) -> None:
    rates = {}
    for name, screen in frames.items():
        image = common_pb2.Image(data=screen.png(), format=common_pb2.IMAGE_FORMAT_PNG)
        regions = stub.DetectText(pb.DetectTextRequest(image=image), timeout=120).regions
        score, _ = score_regions(screen, [(r.text, (r.box.x, r.box.y, r.box.width,
                                                    r.box.height)) for r in regions])
        rates[name] = score.centre_hit_rate
    # Floors well under what bench/inference_accuracy.py measures on these frames (the
    # README's table): a regression to reading nothing, or to wrong places, fails here.
    assert rates["tk"] >= 0.8 and rates["xterm xft"] >= 0.7 and rates["xterm fixed"] >= 0.5, \
        rates
