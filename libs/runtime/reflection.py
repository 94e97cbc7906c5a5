"""Server reflection, `grpc.reflection.v1` and `grpc.reflection.v1alpha`, good enough for
grpcurl's `list`, `describe <service|method|message|field|enum value>` and `-d` invocation.

Why not the stock servicer alone:
- grpcio-reflection (1.85) serves only v1alpha; newer clients ask v1 first.
- `describe pkg.Service.Method` fails against stock Python servers (grpc/grpc#34743): grpcurl
  sends `file_containing_symbol("pkg.Service.Method")`, and the upb descriptor pool's
  `FindFileContainingSymbol` only knows top-level and nested *types* (messages, enums,
  services, extensions, fields) — not methods, and not enum values (which C++ scopes as
  siblings of their enum). The lookup raises KeyError and the servicer answers NOT_FOUND.
  We fall back to resolving the parent symbol and checking the last name is a member of it.

The v1 proto is a copy of v1alpha with a new package (same messages, same field numbers),
so we register a renamed copy of the v1alpha file descriptor in the pool (to be listed and
described like any service) and serve both names with the v1alpha message classes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from grpc_reflection.v1alpha import reflection_pb2 as _pb

from libs import _compat

# grpcio-reflection's base servicer and helpers live in a private module: see libs/_compat.py
BaseReflectionServicer, _collect_transitive_dependencies, _not_found_error = (
    _compat.reflection_base()
)

# tools/gen_protos.py writes our protos' FileDescriptorSet WITH source info (comments) here;
# the `_pb2` modules drop comments, so we serve these copies and `grpcurl describe` shows docs.
DESCRIPTOR_SET = "descriptors.binpb"

V1ALPHA_SERVICE = "grpc.reflection.v1alpha.ServerReflection"
V1_SERVICE = "grpc.reflection.v1.ServerReflection"
V1_FILE = "grpc/reflection/v1/reflection.proto"
_METHOD = "ServerReflectionInfo"


def ensure_v1_descriptor(pool: Any = None) -> None:
    """Add `grpc/reflection/v1/reflection.proto` (renamed v1alpha) to the pool, once."""
    pool = pool or descriptor_pool.Default()
    try:
        pool.FindFileByName(V1_FILE)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    _pb.DESCRIPTOR.CopyToProto(proto)
    old_prefix = "." + proto.package + "."
    proto.name = V1_FILE
    proto.package = "grpc.reflection.v1"
    new_prefix = ".grpc.reflection.v1."

    def rename(type_name: str) -> str:
        return (
            new_prefix + type_name[len(old_prefix) :]
            if type_name.startswith(old_prefix)
            else type_name
        )

    for message in proto.message_type:
        for fld in message.field:
            if fld.type_name:
                fld.type_name = rename(fld.type_name)
    for service in proto.service:
        for method in service.method:
            method.input_type = rename(method.input_type)
            method.output_type = rename(method.output_type)
    proto.options.Clear()  # java/go package options name v1alpha; keep the file neutral
    pool.AddSerializedFile(proto.SerializeToString())


def _member_of(pool: Any, parent: str, name: str) -> bool:
    """True if `name` is declared directly inside the symbol `parent`."""
    try:
        service = pool.FindServiceByName(parent)
    except KeyError:
        service = None
    if service is not None:
        return name in service.methods_by_name
    try:
        message = pool.FindMessageTypeByName(parent)
    except KeyError:
        message = None
    if message is not None:
        if name in message.fields_by_name or name in message.oneofs_by_name:
            return True
        # enum values are scoped beside their enum, i.e. inside the message
        return any(name in enum.values_by_name for enum in message.enum_types)
    return False


def _known_files(pool: Any, service_names: Iterable[str]) -> list[Any]:
    """Files of the served services and everything they import (what a client can reach)."""
    seen: dict[str, Any] = {}
    stack = []
    for name in service_names:
        try:
            stack.append(pool.FindFileContainingSymbol(name))
        except KeyError:
            continue
    while stack:
        file_desc = stack.pop()
        if file_desc.name in seen:
            continue
        seen[file_desc.name] = file_desc
        stack.extend(file_desc.dependencies)
    return list(seen.values())


def find_file_containing_symbol(pool: Any, symbol: str, service_names: Iterable[str] = ()) -> Any:
    """`pool.FindFileContainingSymbol` that also resolves methods and enum values."""
    try:
        return pool.FindFileContainingSymbol(symbol)
    except KeyError:
        pass
    parent, _, name = symbol.rpartition(".")
    if parent:
        try:
            file_desc = pool.FindFileContainingSymbol(parent)
        except KeyError:
            file_desc = None
        if file_desc is not None and _member_of(pool, parent, name):
            return file_desc
        # a top-level enum value `pkg.VALUE`: its parent is a package, not a symbol
        for file_desc in _known_files(pool, service_names):
            if file_desc.package == parent and any(
                name in enum.values_by_name for enum in file_desc.enum_types_by_name.values()
            ):
                return file_desc
    raise KeyError(f"Couldn't find symbol {symbol}")


def load_documented_files(path: Path | None = None) -> dict[str, bytes]:
    """File name → serialized FileDescriptorProto with comments, from the generated set
    (empty when it is missing: reflection then serves the comment-less pool copies)."""
    if path is None:
        try:
            import bytebot
        except ImportError:
            return {}
        path = Path(next(iter(bytebot.__path__))) / DESCRIPTOR_SET
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    files = descriptor_pb2.FileDescriptorSet.FromString(data).file
    return {f.name: f.SerializeToString() for f in files if f.source_code_info.location}


class ReflectionServicer(BaseReflectionServicer):
    """asyncio reflection servicer (both versions) with method/enum-value lookups fixed and
    documented descriptors served where we have them."""

    def __init__(
        self,
        service_names: Iterable[str],
        pool: Any = None,
        documented: dict[str, bytes] | None = None,
    ) -> None:
        super().__init__(service_names, pool=pool)
        self._documented = load_documented_files() if documented is None else documented

    def _file_response(self, descriptor: Any, request: Any) -> Any:
        files: dict[str, Any] = {}
        _collect_transitive_dependencies(descriptor, files)
        serialized = []
        for name, file_desc in files.items():
            documented = self._documented.get(name)
            if documented is None:
                proto = descriptor_pb2.FileDescriptorProto()
                file_desc.CopyToProto(proto)
                documented = proto.SerializeToString()
            serialized.append(documented)
        return _pb.ServerReflectionResponse(
            file_descriptor_response=_pb.FileDescriptorResponse(file_descriptor_proto=serialized),
            original_request=request,
        )

    def _file_by_filename(self, request: Any, filename: str) -> Any:
        try:
            descriptor = self._pool.FindFileByName(filename)
        except KeyError:
            return _not_found_error(request)
        return self._file_response(descriptor, request)

    def _file_containing_symbol(self, request: Any, fully_qualified_name: str) -> Any:
        try:
            descriptor = find_file_containing_symbol(
                self._pool, fully_qualified_name, self._service_names
            )
        except KeyError:
            return _not_found_error(request)
        return self._file_response(descriptor, request)

    def _file_containing_extension(
        self, request: Any, containing_type: str, extension_number: int
    ) -> Any:
        try:
            message = self._pool.FindMessageTypeByName(containing_type)
            extension = self._pool.FindExtensionByNumber(message, extension_number)
            descriptor = self._pool.FindFileContainingSymbol(extension.full_name)
        except KeyError:
            return _not_found_error(request)
        return self._file_response(descriptor, request)

    def _answer(self, request: Any) -> Any:
        which = request.WhichOneof("message_request")
        if which == "file_by_filename":
            return self._file_by_filename(request, request.file_by_filename)
        if which == "file_containing_symbol":
            return self._file_containing_symbol(request, request.file_containing_symbol)
        if which == "file_containing_extension":
            ext = request.file_containing_extension
            return self._file_containing_extension(
                request, ext.containing_type, ext.extension_number
            )
        if which == "all_extension_numbers_of_type":
            return self._all_extension_numbers_of_type(
                request, request.all_extension_numbers_of_type
            )
        if which == "list_services":
            return self._list_services(request)
        return _pb.ServerReflectionResponse(
            error_response=_pb.ErrorResponse(
                error_code=grpc.StatusCode.INVALID_ARGUMENT.value[0],
                error_message="no request given",
            ),
            original_request=request,
        )

    async def ServerReflectionInfo(
        self, request_iterator: AsyncIterator[Any], context: Any
    ) -> AsyncIterator[Any]:
        async for request in request_iterator:
            yield self._answer(request)


def reflection_handlers(service_names: Iterable[str], pool: Any = None) -> list[Any]:
    """Generic handlers serving v1 and v1alpha; `service_names` are listed as well as the
    two reflection services themselves."""
    ensure_v1_descriptor(pool)
    names = sorted({*service_names, V1_SERVICE, V1ALPHA_SERVICE})
    servicer = ReflectionServicer(names, pool=pool)
    handler = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=_pb.ServerReflectionRequest.FromString,
        response_serializer=_pb.ServerReflectionResponse.SerializeToString,
    )
    return [
        grpc.method_handlers_generic_handler(V1ALPHA_SERVICE, {_METHOD: handler}),
        grpc.method_handlers_generic_handler(V1_SERVICE, {_METHOD: handler}),
    ]


def enable_server_reflection(service_names: Iterable[str], server: Any, pool: Any = None) -> None:
    server.add_generic_rpc_handlers(tuple(reflection_handlers(service_names, pool)))


__all__ = [
    "V1ALPHA_SERVICE",
    "V1_SERVICE",
    "ReflectionServicer",
    "enable_server_reflection",
    "ensure_v1_descriptor",
    "find_file_containing_symbol",
    "reflection_handlers",
]
