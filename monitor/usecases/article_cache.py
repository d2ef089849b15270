"""`ArticleCache`: the articles this process read lately, by canonical URL (issue 18). A story's copies (one
article through several feeds, or listed twice in one) are fetched and extracted once, and a read still in
progress is shared by every item that needs it. Process memory only: the database keeps each item's text, and a
copy another feed already stored is never read (monitor.usecases.fulltext)."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from functools import partial
from typing import Any

from monitor.core.fulltext import ArticleText

# What another try would only repeat: kept. A failed or skipped read is tried again by the next copy.
LASTING = frozenset({"read", "no_text", "paywalled", "disallowed", "not_html"})
TTL = 6 * 3600.0  # seconds: copies of a story arrive within hours; an article edited since is read again later
MAX_CHARS = 10_000_000  # of text kept, about 2,000 articles; the least recently used go first

Reader = Callable[[], Coroutine[Any, Any, ArticleText]]


class ArticleCache:
    def __init__(self, *, max_chars: int = MAX_CHARS, ttl: float = TTL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_chars, self.ttl, self._clock = max_chars, ttl, clock
        self._done: OrderedDict[str, tuple[float, ArticleText]] = OrderedDict()  # key -> (expires, article)
        self._chars = 0
        self._pending: dict[str, asyncio.Task[ArticleText]] = {}
        self._waiting: dict[str, int] = {}  # per pending read: how many polls wait for it

    def read(self, key: str, reader: Reader) -> ArticleText | asyncio.Task[ArticleText]:
        """The article kept for `key`, else the read in progress for it, else a read started now with `reader`."""
        kept = self._done.get(key)
        if kept is not None and kept[0] > self._clock():
            self._done.move_to_end(key)
            return kept[1]
        task = self._pending.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():  # (one left by a finished loop)
            task = asyncio.ensure_future(reader())
            self._pending[key] = task
            self._waiting[key] = 0
            task.add_done_callback(partial(self._finished, key))
        self._waiting[key] += 1
        return task

    def give_up(self, key: str, task: asyncio.Task[ArticleText]) -> None:
        """A poll whose budget ran out stops waiting for the read of `key`. The read is cancelled once no poll waits
        for it: another feed's copy of the story, polled later, still has time left on its own budget."""
        if self._pending.get(key) is task and self._waiting.get(key, 0) > 1:
            self._waiting[key] -= 1
            return
        task.cancel()

    def __len__(self) -> int:
        return len(self._done)

    def _finished(self, key: str, task: asyncio.Task[ArticleText]) -> None:
        if self._pending.get(key) is task:
            del self._pending[key]
            del self._waiting[key]
        if not task.cancelled() and task.exception() is None and task.result().status in LASTING:
            self._keep(key, task.result())

    def _keep(self, key: str, article: ArticleText) -> None:
        if len(article.text) > self.max_chars:
            return
        if (old := self._done.pop(key, None)) is not None:
            self._chars -= len(old[1].text)
        while self._done and self._chars + len(article.text) > self.max_chars:
            self._chars -= len(self._done.popitem(last=False)[1][1].text)
        self._done[key] = (self._clock() + self.ttl, article)
        self._chars += len(article.text)
