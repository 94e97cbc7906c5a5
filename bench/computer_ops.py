"""Latency of desktop operations through the ComputerService gRPC API (p50 / p95).

    .venv/bin/python bench/computer_ops.py [--iterations 200] [--runs 3] [--display :N]

Starts its own Xvfb (1280x960x24) with a synthetic busy desktop as the root window's
background (wallpaper gradient, windows with title bars and text, a photo-like panel), so the
screenshots encode real-looking content, not a black screen (--display drives an existing
display instead, as it is). Then starts `bytebot serve computer` on it as a separate process,
so client and server do not share a GIL, and times each operation from the client: a
liveness health check (the floor: same server and interceptors, no X11 work), move,
click, type 10 characters, cursor position, and full-screen 1280x960 screenshots (capture +
encode) as PNG (the default fast compression) and JPEG (quality 80). --runs repeats the whole
table against the same server and prints the median of each percentile over the runs. Goals
of issue 5: input actions p95 < 5 ms, screenshot p95 < 30 ms. No assertions.

Then "encode only": the frame the service captures, encoded in this process by Pillow, by
OpenCV and by the service's encoder (services/computer/screen.py), in alternating rounds so
machine load drifts over all of them alike; printed as medians, ratios to Pillow and sizes.
It is the measurement behind the service's choice of encoders.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "protos")]

import grpc  # noqa: E402
from bytebot.common.v1 import common_pb2  # noqa: E402
from bytebot.computer.v1 import computer_pb2 as pb  # noqa: E402
from bytebot.computer.v1 import computer_pb2_grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

from services.tasks.testing.processes import running  # noqa: E402

INPUT_GOAL_MS = 5.0
SCREENSHOT_GOAL_MS = 30.0


def measure(fn: Callable[[int], object], iterations: int, warmup: int = 10) -> list[float]:
    for i in range(warmup):
        fn(i)
    samples = []
    for i in range(iterations):
        started = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


Row = tuple[str, list[float], float, str]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200, help="calls per operation")
    parser.add_argument("--runs", type=int, default=3, help="times the whole table is measured")
    parser.add_argument("--encode-rounds", type=int, default=20, help="0: skip encode only")
    parser.add_argument("--display", help="drive this display (as it is) instead of our Xvfb")
    args = parser.parse_args()

    with own_display(args.display) as display, tempfile.TemporaryDirectory() as root:
        with (
            running("computer", {"file_root": root, "display": display}) as server,
            grpc.insecure_channel(server.grpc_target, options=[
                ("grpc.max_receive_message_length", 64 << 20)]) as channel,
        ):
            stub = computer_pb2_grpc.ComputerServiceStub(channel)
            health = health_pb2_grpc.HealthStub(channel)
            runs = []
            for run in range(args.runs):
                runs.append(run_all(stub, health, args.iterations))
                print_table(runs[-1], args.iterations, f"run {run + 1}/{args.runs}")
        if args.runs > 1:
            print_median_table(runs)
        if args.encode_rounds > 0:
            encode_only(display, args.encode_rounds)
    return 0


@contextmanager
def own_display(display: str | None) -> Iterator[str]:
    """The display to use: the given one, or our own Xvfb showing a synthetic desktop."""
    if display:
        yield display
        return
    from services.computer.xvfb import XvfbProcess

    xvfb = XvfbProcess.start("1280x960x24")
    try:
        with painted_background(xvfb.display):
            yield xvfb.display
    finally:
        xvfb.stop()


def synthetic_desktop(width: int = 1280, height: int = 960) -> bytes:
    """A deterministic busy desktop as BGRX bytes (the X server's 24-bit ZPixmap layout)."""
    import numpy as np
    from PIL import Image, ImageDraw, ImageFont

    y = np.linspace(0, 1, height)[:, None]
    x = np.linspace(0, 1, width)[None, :]
    wallpaper = np.stack([40 + 60 * y + 0 * x, 70 + 80 * y + 30 * x, 120 + 100 * x + 0 * y], -1)
    image = Image.fromarray(wallpaper.astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default()
    draw.rectangle((0, height - 36, width, height), fill=(32, 34, 40))  # task bar
    for i, label in enumerate(["Firefox", "Terminal", "Files", "Editor"]):
        draw.rectangle((8 + i * 130, height - 30, 128 + i * 130, height - 6), fill=(60, 64, 72))
        draw.text((18 + i * 130, height - 25), label, fill=(230, 230, 230), font=font)
    windows = [((60, 40, 860, 640), "Firefox — Bytebot docs"), ((420, 300, 1220, 880), "Terminal")]
    for n, ((x0, y0, x1, y1), title) in enumerate(windows):
        draw.rectangle((x0, y0, x1, y1), fill=(250, 250, 250) if n == 0 else (24, 24, 28),
                       outline=(90, 90, 90))
        draw.rectangle((x0, y0, x1, y0 + 28), fill=(225, 228, 235) if n == 0 else (50, 52, 60))
        draw.text((x0 + 12, y0 + 8), title, fill=(20, 20, 20) if n == 0 else (220, 220, 220),
                  font=font)
        ink = (30, 30, 30) if n == 0 else (120, 230, 120)
        for row in range(y0 + 44, y1 - 16, 16):
            words = f"line {row}: the quick brown fox jumps over the lazy dog {row * 7919 % 10007}"
            draw.text((x0 + 14, row), words[: 30 + row % 60], fill=ink, font=font)
    rng = np.random.default_rng(5)  # a photo-like panel: smooth colour plus sensor noise
    py, px = np.mgrid[0:220, 0:300]
    photo = np.stack([px * 0.8, py + 20, 255 - px * 0.5], -1) + rng.normal(0, 6, (220, 300, 3))
    image.paste(Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8), "RGB"), (520, 90))
    rgb = np.asarray(image)
    bgrx = np.zeros((height, width, 4), np.uint8)
    bgrx[:, :, :3] = rgb[:, :, ::-1]
    return bgrx.tobytes()


@contextmanager
def painted_background(display_name: str) -> Iterator[None]:
    """Show `synthetic_desktop()` as the root window's background while the context lasts."""
    from Xlib import X
    from Xlib.display import Display

    display = Display(display_name)
    try:
        screen = display.screen()
        width, height = screen.width_in_pixels, screen.height_in_pixels
        data = synthetic_desktop(width, height)
        pixmap = screen.root.create_pixmap(width, height, screen.root_depth)
        gc = pixmap.create_gc()
        strip = 32  # rows per request: stays under the core protocol's request size limit
        for top in range(0, height, strip):
            rows = min(strip, height - top)
            chunk = data[top * width * 4:(top + rows) * width * 4]
            pixmap.put_image(gc, 0, top, width, rows, X.ZPixmap, screen.root_depth, 0, chunk)
        screen.root.change_attributes(background_pixmap=pixmap)
        screen.root.clear_area(0, 0, width, height)
        display.sync()
        yield  # our connection stays open: closing it would free the pixmap
    finally:
        display.close()


def run_all(
    stub: computer_pb2_grpc.ComputerServiceStub, health: health_pb2_grpc.HealthStub, n: int
) -> list[Row]:
    def point(i: int) -> common_pb2.Point:
        return common_pb2.Point(x=100 + (i * 37) % 1000, y=100 + (i * 53) % 700)

    png = pb.ScreenshotRequest(format=common_pb2.IMAGE_FORMAT_PNG)
    jpeg = pb.ScreenshotRequest(format=common_pb2.IMAGE_FORMAT_JPEG, quality=80)
    sizes: dict[str, int] = {}

    def shot(name: str, request: pb.ScreenshotRequest) -> Callable[[int], object]:
        def call(_: int) -> None:
            sizes[name] = stub.Screenshot(request).size_bytes
        return call

    liveness = health_pb2.HealthCheckRequest(service="liveness")
    cases: list[tuple[str, Callable[[int], object], float]] = [
        # The floor: the same server and interceptors, no X11 work (liveness reads a clock).
        ("floor: health liveness", lambda i: health.Check(liveness), INPUT_GOAL_MS),
        ("move_mouse", lambda i: stub.MoveMouse(pb.MoveMouseRequest(coordinates=point(i))),
         INPUT_GOAL_MS),
        ("click_mouse", lambda i: stub.ClickMouse(pb.ClickMouseRequest(coordinates=point(i))),
         INPUT_GOAL_MS),
        ("type_text (10 chars)", lambda i: stub.TypeText(pb.TypeTextRequest(text="abcdefghij")),
         INPUT_GOAL_MS),
        ("cursor_position", lambda i: stub.CursorPosition(pb.CursorPositionRequest()),
         INPUT_GOAL_MS),
        ("screenshot png 1280x960", shot("png", png), SCREENSHOT_GOAL_MS),
        ("screenshot jpeg q80 1280x960", shot("jpeg", jpeg), SCREENSHOT_GOAL_MS),
    ]
    rows = []
    for name, fn, goal in cases:
        samples = measure(fn, n)
        note = ""
        if name.startswith("screenshot"):
            note = f"{sizes['png' if 'png' in name else 'jpeg'] // 1024} KiB"
        rows.append((name, samples, goal, note))
    return rows


def print_table(rows: list[Row], n: int, title: str) -> None:
    print(f"ComputerService through gRPC, {title}: {n} calls each (client-side latency, ms)")
    print(f"{'operation':<30}{'p50':>8}{'p95':>8}{'max':>8}{'goal p95':>10}  {'met':<5}{'note'}")
    for name, samples, goal, note in rows:
        p50, p95 = percentile(samples, 50), percentile(samples, 95)
        met = "yes" if p95 < goal else "NO"
        print(f"{name:<30}{p50:>8.2f}{p95:>8.2f}{max(samples):>8.2f}{goal:>10.0f}  {met:<5}{note}")
    print(flush=True)


def print_median_table(runs: list[list[Row]]) -> None:
    print(f"Median over {len(runs)} runs of each run's percentiles (ms)")
    print(f"{'operation':<30}{'p50':>8}{'p95':>8}{'p95 runs':>24}{'goal p95':>10}  {'met'}")
    for i, (name, _, goal, _) in enumerate(runs[0]):
        p50 = statistics.median(percentile(run[i][1], 50) for run in runs)
        p95s = [percentile(run[i][1], 95) for run in runs]
        p95 = statistics.median(p95s)
        spread = " ".join(f"{v:.1f}" for v in p95s)
        met = "yes" if p95 < goal else "NO"
        print(f"{name:<30}{p50:>8.2f}{p95:>8.2f}{spread:>24}{goal:>10.0f}  {met}")
    print(flush=True)


def encode_only(display: str, rounds: int) -> None:
    """Pillow vs OpenCV vs the service's encoders on the same captured frame, interleaved."""
    import cv2
    import mss
    import numpy as np
    from PIL import Image

    from services.computer.screen import encode

    with mss.MSS(display=display) as grabber:
        shot = grabber.grab(grabber.monitors[1])
    frame = np.asarray(shot).reshape(shot.height, shot.width, 4)
    raw = bytes(shot.raw)

    def pillow(fmt: str) -> bytes:  # the service's previous encoder
        image = Image.frombuffer("RGB", (shot.width, shot.height), raw, "raw", "BGRX", 0, 1)
        out = io.BytesIO()
        if fmt == "png":
            image.save(out, "PNG", compress_level=1)
        else:
            image.save(out, "JPEG", quality=80)
        return out.getvalue()

    def opencv_png(extra: list[int]) -> Callable[[], bytes]:
        def run() -> bytes:
            bgr = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
            return cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1, *extra])[1].tobytes()
        return run

    def service(fmt: str) -> Callable[[], bytes]:
        return lambda: encode(frame, fmt, quality=80, scale=1.0, png_compress_level=1).data

    cases: dict[str, list[tuple[str, Callable[[], bytes]]]] = {
        "png": [
            ("Pillow level 1 (before)", lambda: pillow("png")),
            ("OpenCV level 1", opencv_png([])),
            ("OpenCV level 1, Sub filter", opencv_png(
                [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_SUB])),
            ("OpenCV level 1, RLE", opencv_png(
                [cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE])),
            ("service: Up + ISA-L 1", service("png")),
        ],
        "jpeg": [
            ("Pillow q80 (before)", lambda: pillow("jpeg")),
            ("service: OpenCV q80", service("jpeg")),
        ],
    }
    reference = np.asarray(Image.frombuffer("RGB", (shot.width, shot.height), raw, "raw",
                                            "BGRX", 0, 1))
    for fmt, encoders in cases.items():
        samples: dict[str, list[float]] = {name: [] for name, _ in encoders}
        sizes: dict[str, int] = {}
        for name, fn in encoders:  # warm up, and check every PNG decodes to the same pixels
            data = fn()
            sizes[name] = len(data)
            if fmt == "png":
                decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
                if not np.array_equal(decoded, reference):
                    raise SystemExit(f"{name}: PNG is not lossless")
        for _ in range(rounds):
            for name, fn in encoders:
                started = time.perf_counter()
                fn()
                samples[name].append((time.perf_counter() - started) * 1000)
        base = statistics.median(samples[encoders[0][0]])
        print(f"Encode only, {fmt.upper()} of the captured {shot.width}x{shot.height} frame, "
              f"{rounds} alternating rounds (ms, in this process)")
        print(f"{'encoder':<30}{'p50':>8}{'min':>8}{'x Pillow':>10}{'KiB':>8}")
        for name, _ in encoders:
            p50 = statistics.median(samples[name])
            print(f"{name:<30}{p50:>8.2f}{min(samples[name]):>8.2f}{p50 / base:>10.2f}"
                  f"{sizes[name] / 1024:>8.0f}")
        print(flush=True)


if __name__ == "__main__":
    sys.exit(main())
