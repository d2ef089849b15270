"""monitor.feeds.connections: cancelled requests never cost the fetcher a connection slot, on real loopback
servers. A fetch cancelled at every possible point (each step of the event loop from its start to its end) leaves
the pool empty and the next fetch answered; the pool alone takes back the connection httpcore orphans; a fetch
that outlives its deadline fails as a timeout and frees its slot; a slow exchange whose caller is cancelled keeps
its slots until it has unwound."""

from __future__ import annotations

import asyncio
import contextlib

import httpcore
import pytest

from monitor.errors import FetchError
from monitor.feeds.connections import ReclaimingPool, reclaiming
from monitor.feeds.fetch import Caps, Fetcher, FetchLimits
from monitor.feeds.streams import CachedSocket

BODY = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Keep-alive: answers every request on the connection until the client goes."""
    with contextlib.suppress(Exception):
        while await reader.readuntil(b"\r\n\r\n"):
            writer.write(ANSWER)
            await writer.drain()
    writer.close()


async def _cancel_at_every_step(send: object, steps: int) -> None:
    """Start `send()` and cancel it after 0, 1, ... `steps` turns of the event loop, one request at a time."""
    assert callable(send)
    for step in range(steps):
        task = asyncio.ensure_future(send())
        for _ in range(step):
            await asyncio.sleep(0)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_a_fetch_cancelled_at_any_point_leaves_the_pool_whole() -> None:
    """Before `bounded`, a cancel landing while httpcore closed the response left its request in the pool for ever,
    and with it the slot: with two slots, the loop below ended in PoolTimeout on every fetch."""

    async def scenario() -> tuple[str, int, int]:
        server = await asyncio.start_server(_serve, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
        fetcher = Fetcher(FetchLimits(allow_private_networks=True, concurrency=2, per_host=2, timeout=2.0))
        try:
            await _cancel_at_every_step(lambda: fetcher.fetch(url), 80)
            pool = fetcher._open._transport._pool  # type: ignore[attr-defined]
            left = len(pool._requests)
            busy = sum(not c.is_idle() for c in pool.connections)
            result = await fetcher.fetch(url)
            return result.content.decode(), left, busy
        finally:
            await fetcher.aclose()
            server.close()
            await server.wait_closed()

    content, left, busy = asyncio.run(scenario())
    assert (left, busy) == (0, 0)
    assert content == BODY.decode()


async def _orphaning(cls: type[httpcore.AsyncConnectionPool]) -> list[str]:
    """Two requests on a one-slot pool, both cancelled (plain asyncio cancel) after 0 to 5 turns of the loop:
    after one turn, the pool has just made the second a new connection it has not used yet. Then one more
    request, with a one-second pool timeout. Returns how each last request went."""
    server = await asyncio.start_server(_serve, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/x"
    outcomes = []
    try:
        for steps in range(6):
            pool = cls(max_connections=1, network_backend=CachedSocket())
            tasks = [asyncio.ensure_future(pool.request("GET", url)) for _ in range(2)]
            for _ in range(steps):
                await asyncio.sleep(0)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                outcomes.append(str((await pool.request("GET", url, extensions={"timeout": {"pool": 1.0}})).status))
            except httpcore.PoolTimeout:
                outcomes.append("PoolTimeout")
            await pool.aclose()
        return outcomes
    finally:
        server.close()
        await server.wait_closed()


def test_the_pool_takes_back_a_connection_a_cancelled_request_left() -> None:
    assert asyncio.run(_orphaning(ReclaimingPool)) == ["200"] * 6


def test_httpcore_own_pool_still_loses_the_slot() -> None:
    """The defect ReclaimingPool works around (encode/httpcore#1093). If this fails, httpcore has fixed it: the
    workaround (monitor.feeds.connections) can go."""
    assert "PoolTimeout" in asyncio.run(_orphaning(httpcore.AsyncConnectionPool))


def test_reclaiming_keeps_the_pools_settings() -> None:
    pool = httpcore.AsyncConnectionPool(max_connections=3, max_keepalive_connections=2, keepalive_expiry=7.0)
    backend = CachedSocket()
    reclaiming(pool, backend)
    assert isinstance(pool, ReclaimingPool)
    assert (pool._max_connections, pool._max_keepalive_connections, pool._keepalive_expiry) == (3, 2, 7.0)
    assert pool._network_backend is backend


def test_a_fetch_past_its_deadline_is_a_timeout_and_frees_its_slot() -> None:
    """A server that answers the headers and then trickles the body slower than the deadline."""

    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Length: 1000\r\n\r\n")
            for _ in range(100):
                writer.write(b"<")
                await writer.drain()
                await asyncio.sleep(0.05)
        writer.close()

    async def scenario() -> tuple[FetchError, str, float]:
        slow = await asyncio.start_server(trickle, "127.0.0.1", 0)
        fast = await asyncio.start_server(_serve, "127.0.0.1", 0)
        fetcher = Fetcher(FetchLimits(allow_private_networks=True, concurrency=1, per_host=1, timeout=2.0))
        caps = Caps(deadline=0.3, max_bytes=10_000)
        loop = asyncio.get_running_loop()
        try:
            started = loop.time()
            with pytest.raises(FetchError) as failed:
                await fetcher.fetch_page(f"http://127.0.0.1:{slow.sockets[0].getsockname()[1]}/a", caps)
            took = loop.time() - started
            after = await fetcher.fetch(f"http://127.0.0.1:{fast.sockets[0].getsockname()[1]}/feed.xml")
            return failed.value, after.content.decode(), took
        finally:
            await fetcher.aclose()
            for server in (slow, fast):
                server.close()
                await server.wait_closed()

    error, after, took = asyncio.run(scenario())
    assert error.kind == "timeout" and "0.3s deadline" in str(error)
    assert 0.25 < took < 2.0  # the deadline, not the per-read timeout
    assert after == BODY.decode()  # the single slot was given back


def test_a_cancelled_caller_is_told_so_and_its_connection_is_closed_before_the_next_fetch() -> None:
    """One slot. The first fetch is cancelled while the server takes its time: its caller sees CancelledError (not
    a timeout or another error of the exchange), the connection is closed before the slot is given to the second
    fetch, and the second is answered on a new connection."""
    events: list[str] = []

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        n = sum(e.startswith("connect") for e in events)
        events.append(f"connect{n}")
        with contextlib.suppress(Exception):
            while await reader.readuntil(b"\r\n\r\n"):
                events.append(f"request{n}")
                if n == 0:
                    await reader.read(1)  # no answer: wait for the client to give up (EOF)
                    break
                writer.write(ANSWER)
                await writer.drain()
        events.append(f"closed{n}")
        writer.close()

    async def scenario() -> tuple[bool, str]:
        server = await asyncio.start_server(slow, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/feed.xml"
        fetcher = Fetcher(FetchLimits(allow_private_networks=True, concurrency=1, per_host=1, timeout=5.0))
        try:
            first = asyncio.ensure_future(fetcher.fetch(url))
            while "request0" not in events:
                await asyncio.sleep(0.01)
            first.cancel()
            second = await fetcher.fetch(url)
            await asyncio.gather(first, return_exceptions=True)
            return first.cancelled(), second.content.decode()
        finally:
            await fetcher.aclose()
            server.close()
            await server.wait_closed()

    cancelled, second = asyncio.run(scenario())
    assert cancelled
    assert second == BODY.decode()
    assert events.index("closed0") < events.index("request1")
