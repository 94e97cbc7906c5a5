"""The gRPC call edge: the only code that knows the four call shapes (issue 13 item 1).

Every cross-cutting concern — observability's reporter, authentication/authorisation and
rate limits, deadlines, any future one — is a `CallHook` built once per method by a
`HookFactory`, and plugs into ONE ordered chain run by ONE interceptor per server:

    edge = ServerEdge([obs.server_pipeline, security.hook_factory()])     # sync
    edge = AioServerEdge([...])                                           # grpc.aio
    server = grpc.server(pool, interceptors=[edge])

Per call, the edge runs `begin` of each hook in order (a hook rejects the call by raising an
`RpcError`: the hooks after it never begin; it and the ones before it see `end` with
that status),
`received`/`sent` per message, and `end` in reverse order with the final code — also when
the servicer raised (`RpcError` → its status; anything else → INTERNAL naming only the
correlation id), the client cancelled, or the deadline passed. Requests are decoded inside
the call, so a corrupt message is INVALID_ARGUMENT (grpc itself answers UNKNOWN/INTERNAL).

A new concern is one small class (see tests/unit/edge/test_call_edge.py):

    class Audit(CallHook):
        def begin(self, call, context): ...
        def end(self, call, code, details): ...

    class AuditFactory(HookFactory):
        def for_method(self, method, kind): return Audit()
"""

from libs.edge.call import CallState
from libs.edge.chain import CallHook, Chain, HookFactory
from libs.edge.server_aio import AioServerEdge
from libs.edge.server_sync import ServerEdge

__all__ = ["AioServerEdge", "CallHook", "CallState", "Chain", "HookFactory", "ServerEdge"]
