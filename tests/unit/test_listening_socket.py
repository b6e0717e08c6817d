"""The sockets `tousu up` and `tousu worker` listen on, and how they speak
HTTP. Every connection they accept sends small writes at once: with Nagle's
algorithm left on, an answer's second write waited for the client's delayed
ACK, some 40 ms on each request that closely followed another. Requests are
parsed by httptools, not h11 (a tenth of intake's CPU)."""
import asyncio
import socket

import pytest

from services.commands import bound_socket, handed_over


@pytest.mark.parametrize("handed", [False, True], ids=["bound here", "handed to a worker"])
def test_connections_accepted_on_a_tousu_socket_have_nagle_off(handed):
    async def scenario():
        listening = bound_socket("127.0.0.1", 0)
        if handed:
            listening = handed_over(listening.detach())
        accepted = asyncio.get_running_loop().create_future()

        def connected(reader, writer):
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=listening)
        try:
            _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
            nodelay = await asyncio.wait_for(accepted, 5)
            writer.close()
        finally:
            server.close()
            await server.wait_closed()
        return nodelay

    assert asyncio.run(scenario()) != 0


def test_tousu_serves_http_with_the_c_parser():
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    from services.commands import _serve

    with bound_socket("127.0.0.1", 0) as sock:
        config = _serve(lambda scope, receive, send: None, sock).config
        config.load()
    assert config.http_protocol_class is HttpToolsProtocol
