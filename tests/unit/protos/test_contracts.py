"""Semantic checks of the API contracts that the services and the task model rely on."""

from __future__ import annotations

import re

import pytest
from bytebot.common.v1 import common_pb2
from bytebot.computer.v1 import action_pb2, computer_pb2
from bytebot.tasks.v1 import tasks_pb2
from bytebot.telemetry.v1 import telemetry_pb2
from google.protobuf import descriptor_pb2, descriptor_pool

from libs.runtime import registry
from tests.unit.protos.descriptors import FILE_SERVICE, leading_comments

ACTION_NAMES = [
    "move_mouse",
    "trace_mouse",
    "click_mouse",
    "press_mouse",
    "drag_mouse",
    "scroll",
    "type_keys",
    "press_keys",
    "type_text",
    "paste_text",
    "wait",
    "screenshot",
    "cursor_position",
    "application",
    "write_file",
    "read_file",
    "find_text",
    "click_text",
]
INPUT_ACTIONS = [
    "MoveMouse",
    "TraceMouse",
    "ClickMouse",
    "PressMouse",
    "DragMouse",
    "Scroll",
    "TypeKeys",
    "PressKeys",
    "TypeText",
    "PasteText",
]
# Every public gRPC service, as the service registry (libs/runtime/registry.py) declares it:
# full name -> its ServiceDescriptor (the registered names come from the generated code).
SERVICES = {
    name: descriptor_pool.Default().FindServiceByName(name)
    for definition in registry.definitions()
    for name in definition.grpc_services
}


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def enum_names(enum_descriptor) -> list[str]:
    return [value.name for value in enum_descriptor.values]


def test_action_oneof_holds_exactly_the_bytebot_actions_in_order():
    oneof = action_pb2.Action.DESCRIPTOR.oneofs_by_name["action"]
    assert [field.name for field in oneof.fields] == ACTION_NAMES
    # The step label lives outside the oneof.
    assert action_pb2.Action.DESCRIPTOR.fields_by_name["name"].containing_oneof is None


def test_each_computer_rpc_is_an_action_with_the_same_request_type():
    service = computer_pb2.DESCRIPTOR.services_by_name["ComputerService"]
    assert len(service.methods) == 16
    action_fields = action_pb2.Action.DESCRIPTOR.fields_by_name
    for method in service.methods:
        field = action_fields[snake(method.name)]
        assert field.message_type is method.input_type, method.name
        assert method.output_type.name == f"{method.name}Response"


@pytest.mark.parametrize("rpc", INPUT_ACTIONS)
def test_input_actions_return_the_cursor(rpc):
    response = getattr(computer_pb2, f"{rpc}Response").DESCRIPTOR
    assert list(response.fields_by_name) == ["cursor"]
    assert response.fields_by_name["cursor"].message_type is common_pb2.Point.DESCRIPTOR


def test_optional_coordinates_have_presence():
    # Bytebot's `coordinates?`: unset means "at the current pointer position".
    for request in (
        computer_pb2.ClickMouseRequest,
        computer_pb2.PressMouseRequest,
        computer_pb2.ScrollRequest,
    ):
        message = request()
        assert not message.HasField("coordinates")
        message.coordinates.x = 0
        assert message.HasField("coordinates")


def test_delays_distinguish_unset_from_zero():
    # type_keys defaults to 100 ms when unset, but an explicit 0 must stay expressible.
    request = computer_pb2.TypeKeysRequest()
    assert not request.HasField("delay")
    request.delay.SetInParent()
    assert request.HasField("delay") and request.delay.ToMilliseconds() == 0


def test_task_model_enums_keep_bytebot_names():
    prefix_removed = lambda enum, prefix: [n.removeprefix(prefix) for n in enum_names(enum)]  # noqa: E731
    assert prefix_removed(tasks_pb2.TaskStatus.DESCRIPTOR, "TASK_STATUS_") == [
        "UNSPECIFIED",
        "PENDING",
        "RUNNING",
        "NEEDS_HELP",
        "NEEDS_REVIEW",
        "COMPLETED",
        "CANCELLED",
        "FAILED",
    ]
    assert prefix_removed(tasks_pb2.TaskPriority.DESCRIPTOR, "TASK_PRIORITY_") == [
        "UNSPECIFIED",
        "LOW",
        "MEDIUM",
        "HIGH",
        "URGENT",
    ]
    assert prefix_removed(tasks_pb2.TaskType.DESCRIPTOR, "TASK_TYPE_") == [
        "UNSPECIFIED",
        "IMMEDIATE",
        "SCHEDULED",
    ]
    assert prefix_removed(tasks_pb2.TaskControl.DESCRIPTOR, "TASK_CONTROL_") == [
        "UNSPECIFIED",
        "USER",
        "ASSISTANT",
    ]
    # Priorities are numbered so that "higher number = claimed first" holds for queue order.
    assert (
        tasks_pb2.TASK_PRIORITY_LOW
        < tasks_pb2.TASK_PRIORITY_MEDIUM
        < tasks_pb2.TASK_PRIORITY_HIGH
        < tasks_pb2.TASK_PRIORITY_URGENT
    )


def test_task_steps_are_actions():
    for message in (tasks_pb2.Task, tasks_pb2.CreateTaskRequest):
        steps = message.DESCRIPTOR.fields_by_name["steps"]
        assert steps.message_type is action_pb2.Action.DESCRIPTOR
        assert steps.is_repeated


def test_streaming_rpcs_are_server_streams():
    streams = {
        (service_name, method.name)
        for service_name, service in SERVICES.items()
        for method in service.methods
        if method.server_streaming or method.client_streaming
    }
    assert streams == {
        ("bytebot.tasks.v1.TaskService", "WatchTask"),
        ("bytebot.telemetry.v1.TelemetryService", "WatchSystemHealth"),
    }
    for module, service, rpc in (
        (tasks_pb2, "TaskService", "WatchTask"),
        (telemetry_pb2, "TelemetryService", "WatchSystemHealth"),
    ):
        method = module.DESCRIPTOR.services_by_name[service].methods_by_name[rpc]
        assert method.server_streaming and not method.client_streaming


def test_watch_system_health_response_mirrors_get_system_health_response():
    get = descriptor_pb2.DescriptorProto()
    watch = descriptor_pb2.DescriptorProto()
    telemetry_pb2.GetSystemHealthResponse.DESCRIPTOR.CopyToProto(get)
    telemetry_pb2.WatchSystemHealthResponse.DESCRIPTOR.CopyToProto(watch)
    assert list(get.field) == list(watch.field)


def test_service_comments_name_the_health_probes(repo_descriptor_set):
    comments = {
        f"{file.package}.{service.name}": leading_comments(file)[(FILE_SERVICE, index)]
        for file in repo_descriptor_set.file
        for index, service in enumerate(file.service)
    }
    for full_name in SERVICES:
        comment = " ".join(comments[full_name].split())
        for name in ('"liveness"', '"readiness"', '"startup"', f'"{full_name}"'):
            assert name in comment, f"{full_name}'s comment does not mention {name}"


def test_the_registry_serves_every_public_service_of_the_protos(repo_descriptor_set):
    # SERVICES comes from the registry: a service whose proto exists but which no registered
    # service serves (or the reverse) shows up here, not as a silently shorter table
    declared = {
        f"{file.package}.{service.name}"
        for file in repo_descriptor_set.file
        for service in file.service
        if not file.package.startswith("bytebot.testing.")  # the conformance test service
    }
    assert declared == set(SERVICES)


def test_every_enum_starts_with_an_unspecified_zero(repo_descriptor_set):
    for file in repo_descriptor_set.file:
        enums = list(file.enum_type)
        for message in file.message_type:
            enums.extend(message.enum_type)
        for enum in enums:
            assert enum.value[0].number == 0 and enum.value[0].name.endswith("_UNSPECIFIED"), (
                f"{file.name}: {enum.name}"
            )
