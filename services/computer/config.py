"""Settings of the computer service (every field is a `BYTEBOT_<FIELD>` environment variable)."""

from __future__ import annotations

from typing import Annotated, Any

from bytebot.computer.v1 import computer_pb2
from pydantic import Field

from libs.env_settings import JsonObject, Port, PositiveInt, Seconds
from libs.runtime.config import ServiceSettings
from libs.runtime.registry import ServiceDefinition

# The registration (pyproject [project.entry-points."bytebot.services"], libs.runtime.registry)
SERVICE = ServiceDefinition(
    name="computer",
    grpc_port=50053,
    http_port=9466,
    entry="services.computer.main:ENTRY",
    grpc_services=(computer_pb2.DESCRIPTOR.services_by_name["ComputerService"].full_name,),
    prometheus_job="bytebot-computer",
    address_env="BYTEBOT_COMPUTER_ADDRESS",
)


class ComputerSettings(ServiceSettings):
    grpc_port: Port = SERVICE.grpc_port
    http_port: Port = SERVICE.http_port
    # The X display to drive (":0", ":99"…). Unset: $DISPLAY; when that is unset too and Xvfb
    # is installed, the service starts its own Xvfb and stops it on shutdown.
    display: str | None = None
    # Screen of the service's own Xvfb (Bytebot's desktop is 1280x960x24).
    xvfb_screen: str = "1280x960x24"
    # How long start-up waits for the display to accept connections.
    display_timeout_seconds: Seconds = 15.0
    # Bytebot's pauses: between repeated clicks and between scroll steps.
    click_interval_seconds: Seconds = 0.15
    scroll_interval_seconds: Seconds = 0.15
    # Defaults of requests that leave the delay unset (type_keys holds the chord this long).
    type_keys_delay_seconds: Seconds = 0.1
    type_text_delay_seconds: Seconds = 0.0
    # Typing more distinct unmapped characters (é, Greek, emoji…) than the keymap has spare
    # keycodes rebinds keycodes; a rebinding waits until the keycode's last key event is this
    # old, so that a lagging client has translated it with the old binding (keyboard.py).
    keyboard_rebind_grace_seconds: Seconds = 0.3
    # write_file/read_file stay inside this folder; relative paths resolve here.
    file_root: str = "~/Desktop"
    # zlib level of PNG screenshots: 1 is ~3x faster than the default 6 for ~10 % more bytes.
    png_compress_level: Annotated[int, Field(ge=0, le=9)] = 1
    # Additions/replacements to the application table, as JSON:
    # {"name": {"command": ["prog", "arg"], "window_class": "instance.Class"}, "gone": null}
    applications: JsonObject[Any] = Field(default_factory=dict)
    # A 50 MB file plus protobuf framing must fit in one message.
    max_message_bytes: PositiveInt = 64 * 1024 * 1024
