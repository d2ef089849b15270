"""monitor.feeds.slots: urgent waiters go first, the count never drifts whatever is cancelled when, and the fetcher
lets an article page overtake feeds waiting for the same slot (a real loopback server)."""

from __future__ import annotations

import asyncio
import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.feeds.fetch import Caps, Fetcher, FetchLimits
from monitor.feeds.slots import Slots


def test_an_urgent_waiter_goes_before_others_that_came_first() -> None:
    async def scenario() -> list[str]:
        slots, order = Slots(1), []
        release = asyncio.Event()

        async def use(name: str, urgent: bool) -> None:
            async with slots.take(urgent=urgent):
                order.append(name)
                if name == "holder":
                    await release.wait()

        holder = asyncio.ensure_future(use("holder", False))
        await asyncio.sleep(0)
        waiting = [asyncio.ensure_future(use(name, urgent)) for name, urgent in
                   (("feed 1", False), ("feed 2", False), ("article 1", True), ("feed 3", False), ("article 2", True))]
        await asyncio.sleep(0)
        release.set()
        await asyncio.gather(holder, *waiting)
        return order

    assert asyncio.run(scenario()) == ["holder", "article 1", "article 2", "feed 1", "feed 2", "feed 3"]


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 3),
       plan=st.lists(st.tuples(st.booleans(), st.integers(0, 4), st.integers(0, 4), st.booleans()), min_size=1,
                     max_size=12))
def test_cancelling_at_any_moment_never_loses_or_adds_a_slot(size: int,
                                                            plan: list[tuple[bool, int, int, bool]]) -> None:
    """Tasks take a slot, hold it a few loop turns, and some are cancelled after a drawn number of turns (while
    waiting, just as they are handed the slot, or while holding it). Never more holders than slots, and at the
    end every slot is free again and a new taker gets one at once."""

    async def scenario() -> tuple[int, int]:
        slots, holders, most = Slots(size), [0], [0]

        async def use(urgent: bool, hold: int) -> None:
            async with slots.take(urgent=urgent):
                holders[0] += 1
                most[0] = max(most[0], holders[0])
                try:
                    for _ in range(hold):
                        await asyncio.sleep(0)
                finally:
                    holders[0] -= 1

        tasks = []
        for urgent, hold, cancel_after, cancel in plan:
            task = asyncio.ensure_future(use(urgent, hold))
            tasks.append(task)
            if cancel:
                async def cancel_later(t: asyncio.Task[None] = task, turns: int = cancel_after) -> None:
                    for _ in range(turns):
                        await asyncio.sleep(0)
                    t.cancel()
                tasks.append(asyncio.ensure_future(cancel_later()))
        await asyncio.gather(*tasks, return_exceptions=True)
        async with asyncio.timeout(1):
            async with slots.take():
                pass
        return most[0], slots.free

    most, free = asyncio.run(scenario())
    assert most <= size
    assert free == size


def test_an_article_overtakes_feeds_queued_for_the_fetchers_slot() -> None:
    """One slot, a slow first feed; two more feeds queue, then an article page: the server sees the article
    requested before the queued feeds."""
    body = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    seen: list[str] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while head := await reader.readuntil(b"\r\n\r\n"):
                path = head.split(b" ")[1].decode()
                seen.append(path)
                if path == "/feed/slow":
                    await asyncio.sleep(0.2)
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
                await writer.drain()
        writer.close()

    async def scenario() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        fetcher = Fetcher(FetchLimits(allow_private_networks=True, concurrency=1, per_host=1, timeout=5.0))
        try:
            slow = asyncio.ensure_future(fetcher.fetch(f"{base}/feed/slow"))
            while not seen:
                await asyncio.sleep(0.01)
            feeds = [asyncio.ensure_future(fetcher.fetch(f"{base}/feed/{n}")) for n in (1, 2)]
            await asyncio.sleep(0.02)
            article = asyncio.ensure_future(fetcher.fetch_page(f"{base}/article", Caps(deadline=5, max_bytes=10_000)))
            await asyncio.gather(slow, *feeds, article)
        finally:
            await fetcher.aclose()
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
    assert seen == ["/feed/slow", "/article", "/feed/1", "/feed/2"]
