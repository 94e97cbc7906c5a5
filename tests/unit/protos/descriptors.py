"""Compile .proto files with source info and find elements that lack a leading comment.

The comment rule exists because `grpcurl describe` and reflection-based tools show these
comments to operators: an uncommented field is an undocumented API.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc_tools
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

WELL_KNOWN = Path(grpc_tools.__file__).parent / "_proto"

# Field numbers of the descriptor.proto messages, as used in SourceCodeInfo location paths.
FILE_MESSAGE, FILE_ENUM, FILE_SERVICE = 4, 5, 6
MESSAGE_FIELD, MESSAGE_NESTED, MESSAGE_ENUM, MESSAGE_ONEOF = 2, 3, 4, 8
ENUM_VALUE = 2
SERVICE_METHOD = 2


@dataclass(frozen=True)
class Element:
    """One commentable element: its kind, full name, file and 1-based line."""

    kind: str
    name: str
    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.file}:{self.line})"


def compile_descriptor_set(
    proto_root: Path, files: Sequence[str], out_dir: Path
) -> descriptor_pb2.FileDescriptorSet:
    """Run protoc on `files` (relative to proto_root) keeping comments and source positions."""
    out = out_dir / "descriptors.binpb"
    args = [
        "grpc_tools.protoc",
        f"-I{proto_root}",
        f"-I{WELL_KNOWN}",
        "--include_source_info",
        f"--descriptor_set_out={out}",
        *files,
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {list(files)} (see stderr)")
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def _elements(
    file: descriptor_pb2.FileDescriptorProto,
) -> Iterator[tuple[str, str, tuple[int, ...]]]:
    """Yield (kind, full name, location path) for every element that must carry a comment."""
    package = file.package

    def enum(e: descriptor_pb2.EnumDescriptorProto, scope: str, path: tuple[int, ...]):
        full = f"{scope}.{e.name}"
        yield "enum", full, path
        for i, value in enumerate(e.value):
            yield "enum value", f"{full}.{value.name}", (*path, ENUM_VALUE, i)

    def message(m: descriptor_pb2.DescriptorProto, scope: str, path: tuple[int, ...]):
        if m.options.map_entry:  # synthesized for map<,> fields: no source of its own
            return
        full = f"{scope}.{m.name}"
        yield "message", full, path
        for i, field in enumerate(m.field):
            yield "field", f"{full}.{field.name}", (*path, MESSAGE_FIELD, i)
        synthetic = {f.oneof_index for f in m.field if f.proto3_optional}
        for i, oneof in enumerate(m.oneof_decl):
            if i not in synthetic:  # `optional` fields get a synthetic oneof: not user-written
                yield "oneof", f"{full}.{oneof.name}", (*path, MESSAGE_ONEOF, i)
        for i, nested in enumerate(m.nested_type):
            yield from message(nested, full, (*path, MESSAGE_NESTED, i))
        for i, nested_enum in enumerate(m.enum_type):
            yield from enum(nested_enum, full, (*path, MESSAGE_ENUM, i))

    for i, m in enumerate(file.message_type):
        yield from message(m, package, (FILE_MESSAGE, i))
    for i, e in enumerate(file.enum_type):
        yield from enum(e, package, (FILE_ENUM, i))
    for i, service in enumerate(file.service):
        full = f"{package}.{service.name}"
        yield "service", full, (FILE_SERVICE, i)
        for j, method in enumerate(service.method):
            yield "rpc", f"{full}.{method.name}", (FILE_SERVICE, i, SERVICE_METHOD, j)


def leading_comments(file: descriptor_pb2.FileDescriptorProto) -> dict[tuple[int, ...], str]:
    return {tuple(loc.path): loc.leading_comments for loc in file.source_code_info.location}


def all_elements(fds: descriptor_pb2.FileDescriptorSet) -> list[tuple[Element, str]]:
    """Every commentable element with its leading comment ("" when it has none)."""
    result = []
    for file in fds.file:
        locations = {tuple(loc.path): loc for loc in file.source_code_info.location}
        for kind, name, path in _elements(file):
            loc = locations.get(path)
            line = loc.span[0] + 1 if loc is not None else 0
            comment = loc.leading_comments.strip() if loc is not None else ""
            result.append((Element(kind, name, file.name, line), comment))
    return result


def missing_comments(fds: descriptor_pb2.FileDescriptorSet) -> list[Element]:
    """The elements without a non-blank leading comment, in file order."""
    return [element for element, comment in all_elements(fds) if not comment]
