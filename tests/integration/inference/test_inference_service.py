"""InferenceService end to end: real gRPC, real OCR, real health and metrics."""

from __future__ import annotations

import io
import json
import urllib.request
from typing import Any

import grpc
import pytest
from bytebot.common.v1 import common_pb2
from bytebot.inference.v1 import inference_pb2 as pb
from grpc_health.v1 import health_pb2, health_pb2_grpc
from PIL import Image

from libs.status.errors import field_violations
from services.inference.testing.scoring import inside
from services.inference.testing.screens import generate_screen

SCREEN = generate_screen(1234, size=(1280, 720), theme="light")
IMAGE = common_pb2.Image(data=SCREEN.png(), format=common_pb2.IMAGE_FORMAT_PNG)


def invalid(call: Any, request: Any) -> list[str]:
    with pytest.raises(grpc.RpcError) as e:
        call(request, timeout=60)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
    return [v.field for v in field_violations(e.value)]


def test_detect_text(stub: Any) -> None:
    r = stub.DetectText(pb.DetectTextRequest(image=IMAGE), timeout=60)
    assert (r.backend, r.model) == ("cpu", "ui-ocr-cpu")
    assert (r.image_size.width, r.image_size.height) == (1280, 720)
    assert r.processing_time.ToNanoseconds() > 0
    got = {(reg.text.lower()) for reg in r.regions}
    truth = {w.text.lower() for w in SCREEN.words}
    assert len(got & truth) >= 0.85 * len(truth)


def test_find_text_multi_word_best_first_with_centre(stub: Any) -> None:
    text, box = next((t, b) for t, b in SCREEN.phrases if " " in t and len(t) > 6)
    r = stub.FindText(pb.FindTextRequest(image=IMAGE, query=text.upper()), timeout=60)
    assert r.matches, text
    best = r.matches[0]
    assert best.region.text.lower() == text.lower()
    assert inside((best.center.x, best.center.y), box)
    assert [m.score for m in r.matches] == sorted((m.score for m in r.matches), reverse=True)


def test_find_text_in_a_region_returns_whole_image_coordinates(stub: Any) -> None:
    word = next(w for w in SCREEN.words if w.box[0] > 600 and w.box[1] > 150
                and len(w.text) >= 5)
    x0, y0, x1, y1 = word.box
    region = common_pb2.Rect(x=x0 - 30, y=y0 - 8, width=x1 - x0 + 60, height=y1 - y0 + 16)
    r = stub.FindText(pb.FindTextRequest(
        image=IMAGE, query=word.text, region=region,
        options=pb.MatchOptions(mode=pb.MATCH_MODE_EXACT)), timeout=60)
    assert r.matches and inside((r.matches[0].center.x, r.matches[0].center.y), word.box)


def test_find_text_nothing_found_is_an_empty_answer(stub: Any) -> None:
    r = stub.FindText(pb.FindTextRequest(image=IMAGE, query="Zyxwvut Qqq"), timeout=120)
    assert list(r.matches) == []


def test_list_models_and_device_info(stub: Any) -> None:
    models = stub.ListModels(pb.ListModelsRequest(), timeout=10).models
    names = {m.name for m in models}
    assert {"ui-ocr-cpu", "tesseract-eng", "ppocr-det", "ppocr-rec"} <= names
    assert all(m.loaded for m in models)
    info = stub.GetDeviceInfo(pb.GetDeviceInfoRequest(), timeout=10)
    assert (info.backend, info.compute_units) == ("cpu", "CPU_ONLY")
    assert info.cpu_count >= 1 and info.platform.startswith(("Linux", "macOS"))
    assert info.details["tesseract"].startswith("5.")


def test_bad_input_is_invalid_argument_with_field_names(stub: Any) -> None:
    assert invalid(stub.DetectText, pb.DetectTextRequest()) == ["image"]
    empty = common_pb2.Image(data=b"")
    assert invalid(stub.DetectText, pb.DetectTextRequest(image=empty)) == ["image.data"]
    junk = common_pb2.Image(data=b"GIF89a but not really")
    assert invalid(stub.DetectText, pb.DetectTextRequest(image=junk)) == ["image.data"]
    cut = common_pb2.Image(data=IMAGE.data[: len(IMAGE.data) // 3])
    assert invalid(stub.DetectText, pb.DetectTextRequest(image=cut)) == ["image.data"]
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, format="ICO")
    ico = common_pb2.Image(data=buf.getvalue())
    assert invalid(stub.DetectText, pb.DetectTextRequest(image=ico)) == ["image.data"]
    big = common_pb2.Image(data=b"\x89PNG" + b"\0" * (4 * 1024 * 1024))
    assert invalid(stub.DetectText, pb.DetectTextRequest(image=big)) == ["image.data"]
    outside = common_pb2.Rect(x=1200, y=0, width=200, height=10)
    assert invalid(stub.DetectText, pb.DetectTextRequest(image=IMAGE, region=outside)) \
        == ["region.width"]
    assert invalid(stub.DetectText, pb.DetectTextRequest(image=IMAGE, min_confidence=2)) \
        == ["min_confidence"]
    assert invalid(stub.FindText, pb.FindTextRequest(image=IMAGE, query="  ")) == ["query"]
    assert invalid(stub.FindText, pb.FindTextRequest(image=IMAGE, query="x" * 257)) == ["query"]
    fields = invalid(stub.FindText, pb.FindTextRequest(
        image=IMAGE, query="", options=pb.MatchOptions(max_results=500, min_similarity=3)))
    assert fields == ["query", "options.min_similarity", "options.max_results"]
    # The process survived all of it.
    assert stub.ListModels(pb.ListModelsRequest(), timeout=10).models


def test_health_readiness_startup_and_metrics(service: Any, stub: Any) -> None:
    channel = grpc.insecure_channel(service.service.grpc_target)
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", "readiness", "startup", "liveness", "bytebot.inference.v1.InferenceService"):
        status = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=10).status
        assert status == health_pb2.HealthCheckResponse.SERVING, name
    channel.close()
    base = service.service.http_url
    ready = json.loads(urllib.request.urlopen(base + "/health/ready", timeout=10).read())
    assert ready["checks"]["ane_service"]["status"] == "ok"
    assert ready["checks"]["ane_service"]["responseTime"].endswith("ms")
    startup = json.loads(urllib.request.urlopen(base + "/health/startup", timeout=10).read())
    assert "ane_service_init" in json.dumps(startup)
    stub.DetectText(pb.DetectTextRequest(image=IMAGE), timeout=60)
    metrics = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode()
    labels = 'backend="cpu",le="0.5",model="ui-ocr-cpu"'
    assert f"bytebot_ane_processing_duration_seconds_bucket{{{labels}}}" in metrics
    les = {line.split('le="')[1].split('"')[0] for line in metrics.splitlines()
           if line.startswith("bytebot_ane_processing_duration_seconds_bucket")}
    # DESIGN's buckets, plus the CPU backend's slower edges (libs/observability/buckets.py).
    from services.inference.servicer import ANE_BUCKETS

    assert {"0.001", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5"} <= les
    assert les == {str(float(b)) for b in ANE_BUCKETS} | {"+Inf"}


def test_the_readiness_check_runs_a_real_inference(service: Any) -> None:
    servicer = service.service.spec.servicers[0][1]
    service.call(servicer.check)  # passes: the probe word is read
    real_detect = servicer.backend.detect
    try:
        servicer.backend.detect = lambda *a, **k: []  # a backend that reads nothing
        with pytest.raises(RuntimeError, match="probe inference"):
            service.call(servicer.check)
    finally:
        servicer.backend.detect = real_detect




def test_processing_series_exists_at_zero_before_the_first_request() -> None:
    """A fresh server (no request yet) already exports its histogram child at zero."""
    from services.inference.main import ENTRY
    from tests.support.service_thread import ServiceThread

    fresh = ServiceThread(ENTRY, {"log_level": "warning", "backend": "cpu"}).start()
    try:
        metrics = urllib.request.urlopen(fresh.service.http_url + "/metrics",
                                         timeout=10).read().decode()
    finally:
        fresh.stop()
    name = "bytebot_ane_processing_duration_seconds"
    assert f'{name}_count{{backend="cpu",model="ui-ocr-cpu"}} 0.0' in metrics
    assert f'{name}_bucket{{backend="cpu",le="+Inf",model="ui-ocr-cpu"}} 0.0' in metrics


def _file_list() -> tuple[bytes, dict[str, list[tuple[int, int, int, int]]]]:
    """A file-manager list (names with dots, dashes, underscores; one shown twice) rendered
    with DejaVu Sans 15 px, and each name's truth boxes."""
    from PIL import ImageDraw, ImageFont

    names = ["budget.ods", "Budget-2024_final.tar.gz", "report.v2.pdf", "budget.ods",
             "ann@example.org", "README.md", "photo_0042.JPG"]
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 15)
    img = Image.new("RGB", (1280, 720), "#ffffff")
    draw = ImageDraw.Draw(img)
    boxes: dict[str, list[tuple[int, int, int, int]]] = {}
    for i, name in enumerate(names):
        y = 60 + 34 * i
        if i % 2:
            draw.rectangle((40, y - 8, 900, y + 24), fill="#f0f0f0")
        x = 60 if i != 3 else 480  # the repeated name sits further right, lower down
        boxes.setdefault(name, []).append(draw.textbbox((x, y), name, font=font))
        draw.text((x, y), name, font=font, fill="#202020")
        draw.text((700, y), f"{(i + 1) * 13} KB", font=font, fill="#606060")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue(), boxes


def test_find_text_finds_what_detect_text_reads_on_file_names(stub: Any) -> None:
    data, boxes = _file_list()
    image = common_pb2.Image(data=data, format=common_pb2.IMAGE_FORMAT_PNG)
    read = {r.text for r in stub.DetectText(pb.DetectTextRequest(image=image),
                                             timeout=60).regions}
    assert set(boxes) <= read, set(boxes) - read
    exact = pb.MatchOptions(mode=pb.MATCH_MODE_EXACT)
    for name, truth in boxes.items():
        r = stub.FindText(pb.FindTextRequest(image=image, query=name, options=exact),
                          timeout=60)
        # Every occurrence, in reading order (the repeated name: top one first).
        assert len(r.matches) == len(truth), (name, r.matches)
        for m, box in zip(r.matches, truth, strict=True):
            assert m.region.text == name and inside((m.center.x, m.center.y), box), name
    contains = stub.FindText(pb.FindTextRequest(
        image=image, query="budget", options=pb.MatchOptions(mode=pb.MATCH_MODE_CONTAINS)),
        timeout=60)
    assert sorted(m.region.text for m in contains.matches) == [
        "Budget-2024_final.tar.gz", "budget.ods", "budget.ods"]
    whole = stub.FindText(pb.FindTextRequest(
        image=image, query="budget", options=pb.MatchOptions(
            mode=pb.MATCH_MODE_CONTAINS, whole_word=True, max_results=5)), timeout=120)
    assert list(whole.matches) == []  # "budget" is no whole token of those names
    upper = stub.FindText(pb.FindTextRequest(image=image, query="BUDGET.ODS"), timeout=60)
    assert [m.region.text for m in upper.matches] == ["budget.ods", "budget.ods"]
