"""The codebase's status vocabulary: the errors handlers raise (`RpcError` and its
subclasses, with `google.rpc.BadRequest` field details) and how they become a gRPC status.

It is not an observability concern — servicers, security, the runtime and clients all speak
it — so it lives here; `libs.observability.errors` stays as a compatibility import.
"""
