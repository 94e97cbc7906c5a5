"""Screenshots through the gRPC API: pixels match what the recorder app draws."""

from __future__ import annotations

import io

from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import computer_pb2 as pb
from PIL import Image

from tests.integration.computer.conftest import Recorder

GREEN = (0x12, 0xAB, 0x34)


def decode(reply: pb.ScreenshotResponse) -> Image.Image:
    image = Image.open(io.BytesIO(reply.image.data))
    assert (image.width, image.height) == (reply.image.width, reply.image.height)
    assert reply.size_bytes == len(reply.image.data)
    return image.convert("RGB")


def test_full_screen_png_has_the_drawn_rectangle(stub, recorder: Recorder) -> None:
    reply = stub.Screenshot(pb.ScreenshotRequest())
    assert reply.image.format == common_pb2.IMAGE_FORMAT_PNG
    assert reply.image.data.startswith(b"\x89PNG")
    image = decode(reply)
    assert image.size == (1280, 960)
    x0, y0, x1, y1 = recorder.layout["rect"]
    for x, y in [(x0 + 1, y0 + 1), ((x0 + x1) // 2, (y0 + y1) // 2), (x1 - 2, y1 - 2)]:
        assert image.getpixel((x, y)) == GREEN
    assert image.getpixel((x0 - 5, y0 + 5)) == (255, 255, 255)  # canvas background
    assert image.getpixel((1000, 900)) != GREEN  # outside the window


def test_region_jpeg_and_scale(stub, recorder: Recorder) -> None:
    x0, y0, x1, y1 = recorder.layout["rect"]
    region = common_pb2.Rect(x=x0 + 10, y=y0 + 10, width=100, height=60)
    reply = stub.Screenshot(pb.ScreenshotRequest(
        region=region, format=common_pb2.IMAGE_FORMAT_JPEG, quality=90))
    assert reply.image.format == common_pb2.IMAGE_FORMAT_JPEG
    assert reply.image.data.startswith(b"\xff\xd8")
    image = decode(reply)
    assert image.size == (100, 60)
    r, g, b = image.getpixel((50, 30))
    assert abs(r - GREEN[0]) < 12 and abs(g - GREEN[1]) < 12 and abs(b - GREEN[2]) < 12

    half = decode(stub.Screenshot(pb.ScreenshotRequest(scale=0.5)))
    assert half.size == (640, 480)
    centre = ((x0 + x1) // 4, (y0 + y1) // 4)
    assert half.getpixel(centre) == GREEN


def test_cursor_is_drawn_only_on_request(stub, recorder: Recorder) -> None:
    stub.MoveMouse(pb.MoveMouseRequest(coordinates=common_pb2.Point(x=300, y=100)))
    region = common_pb2.Rect(x=290, y=90, width=40, height=40)  # white canvas around it
    plain = decode(stub.Screenshot(pb.ScreenshotRequest(region=region)))
    assert plain.getcolors() == [(40 * 40, (255, 255, 255))]
    with_cursor = decode(stub.Screenshot(pb.ScreenshotRequest(region=region, show_cursor=True)))
    assert len(with_cursor.getcolors()) > 1
