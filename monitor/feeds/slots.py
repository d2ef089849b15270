"""The fetcher's connection slots (global and per host): a counting semaphore with two queues, so that the work
that finishes a poll already under way goes before the work that starts a new one.

A poll reads its candidates' articles after fetching its feed, within a budget (polling.fulltext.budget). With
one FIFO queue, those reads waited behind every feed fetch queued before them: in the full-text benchmark's
round A (1,000 feeds due at once, four slots) a third of the candidates ran out of budget and were scored on
their summary. Article pages and robots.txt (`urgent`) now take the next free slot before any feed does; feeds
still get every slot no article is waiting for, and there are never more articles than the candidates of the
polls under way, so no feed waits for ever.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Slots:
    def __init__(self, size: int) -> None:
        self._free = size
        self._urgent: deque[asyncio.Future[None]] = deque()
        self._others: deque[asyncio.Future[None]] = deque()

    @property
    def free(self) -> int:
        return self._free

    @asynccontextmanager
    async def take(self, *, urgent: bool = False) -> AsyncIterator[None]:
        await self._acquire(urgent)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, urgent: bool) -> None:
        # A free slot means nobody waits: a released slot goes to a waiter, not back to the count.
        if self._free > 0:
            self._free -= 1
            return
        queue = self._urgent if urgent else self._others
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            # A cancelled waiter stays queued until a release skips it (it is done); one that was handed a slot
            # just as the cancel came passes the slot on.
            if waiter.done() and not waiter.cancelled():
                self._release()
            raise

    def _release(self) -> None:
        for queue in (self._urgent, self._others):
            while queue:
                waiter = queue.popleft()
                if not waiter.done():
                    waiter.set_result(None)
                    return
        self._free += 1
