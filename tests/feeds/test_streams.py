"""monitor.feeds.streams: a stream's socket is looked up once, its readability checked every time (httpcore drops
a kept-alive connection the server closed because its socket turns readable), on a real loopback connection;
and the Fetcher reuses a kept-alive connection and leaves one the server closed."""

from __future__ import annotations

import asyncio

from monitor.feeds.fetch import Fetcher, FetchLimits
from monitor.feeds.streams import CachedSocket


def test_readability_is_checked_each_time_on_the_socket_found_once() -> None:
    async def scenario() -> tuple[bool, bool, bool, bool, bytes]:
        accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

        async def on_connect(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await accepted.put(writer)

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        stream = await CachedSocket().connect_tcp("127.0.0.1", port, timeout=5)
        peer = await accepted.get()
        raw = stream.get_extra_info("socket")
        same = raw is not None and stream.get_extra_info("socket") is raw  # asyncio's TransportSocket
        quiet = stream.get_extra_info("is_readable")
        peer.write(b"hello")
        await peer.drain()
        await asyncio.sleep(0.05)
        with_data = stream.get_extra_info("is_readable")
        data = await stream.read(5, timeout=5)
        peer.close()  # the server ends a kept-alive connection: the socket reads EOF, so it is readable
        await asyncio.sleep(0.05)
        closed = stream.get_extra_info("is_readable")
        address = stream.get_extra_info("server_addr")  # what is not cached goes to anyio's stream
        await stream.aclose()
        server.close()
        await server.wait_closed()
        return same and address == ("127.0.0.1", port), quiet, with_data, closed, data

    same, quiet, with_data, closed, data = asyncio.run(scenario())
    assert same
    assert (quiet, with_data, closed) == (False, True, True)
    assert data == b"hello"


def test_a_poll_reuses_a_kept_alive_connection_and_leaves_one_the_server_closed() -> None:
    """A loopback server that keeps connections alive, then closes each one it answered twice without saying so
    (no "Connection: close"), as servers time idle connections out: the next fetch must not be sent on it."""
    body = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    answer = (b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n%s"
              % (len(body), body))

    async def scenario() -> tuple[list[int], list[int]]:
        answered: list[int] = []  # per connection, the requests it answered

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            answered.append(0)
            n = len(answered) - 1
            while answered[n] < 2 and await reader.readuntil(b"\r\n\r\n"):
                writer.write(answer)
                await writer.drain()
                answered[n] += 1
            writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
        fetcher = Fetcher(FetchLimits(allow_private_networks=True))
        statuses = []
        try:
            for _ in range(5):
                statuses.append((await fetcher.fetch(url)).status)
                await asyncio.sleep(0.05)  # the server's close arrives before the next fetch
        finally:
            await fetcher.aclose()
            server.close()
            await server.wait_closed()
        return statuses, answered

    statuses, answered = asyncio.run(scenario())
    assert statuses == [200] * 5
    assert answered == [2, 2, 1]  # two requests on each kept-alive connection, none sent on a closed one
