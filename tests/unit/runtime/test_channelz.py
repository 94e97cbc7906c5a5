"""libs.runtime.channelz on both server flavours (issue 15 item 1): the runtime serves
grpc.aio, tools and tests also run thread-pool servers; channelz must answer on each."""

from __future__ import annotations

import asyncio
from concurrent import futures

import grpc
from grpc_channelz.v1 import channelz_pb2 as cz
from grpc_channelz.v1 import channelz_pb2_grpc as cz_grpc

from libs.runtime.channelz import CHANNELZ_SERVICE, add_channelz


def test_sync_server_answers_get_servers_and_top_channels() -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    assert add_channelz(server) == CHANNELZ_SERVICE
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = cz_grpc.ChannelzStub(channel)
            servers = stub.GetServers(cz.GetServersRequest(), timeout=10).server
            # channelz is process-wide: servers of earlier tests (stopped, no listen socket
            # left) may still be listed; this one must be, with its listener
            assert any(s.listen_socket for s in servers)
            top = stub.GetTopChannels(cz.GetTopChannelsRequest(), timeout=10)
            assert top.end
            # this very client channel is one of the process's channels
            assert any(c.data.target.endswith(f":{port}") for c in top.channel)
    finally:
        server.stop(None)


def test_aio_server_answers_get_servers_and_server_sockets() -> None:
    async def main() -> None:
        server = grpc.aio.server()
        add_channelz(server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = cz_grpc.ChannelzStub(channel)
                reply = await stub.GetServers(cz.GetServersRequest(), timeout=10)
                # the newest server of the process (earlier tests' servers may linger)
                ours = max(reply.server, key=lambda s: s.ref.server_id)
                assert ours.data.calls_started >= 1
                sockets = await stub.GetServerSockets(
                    cz.GetServerSocketsRequest(server_id=ours.ref.server_id), timeout=10)
                assert sockets.end and sockets.socket_ref  # our own connection
        finally:
            await server.stop(0.001)  # never 0: grpc.aio may segfault

    asyncio.run(main())
