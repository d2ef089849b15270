"""Fetching an item's article page (issue 18) as politely and safely as a feed: the feed fetcher's client, host
slots, redirect rules and private-address check (monitor.feeds.fetch), under an article's tighter caps, and
never a URL that the host's robots.txt disallows for this user agent.

-> Page, the HTML to extract the main text from (monitor.feeds.extract, in a worker), or ArticleText saying
why there is none: disallowed, failed (with the fetch error's kind), not_html.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from monitor.core.fulltext import ArticleText
from monitor.errors import FetchError
from monitor.feeds.fetch import Caps, Fetcher

HTML_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
HTML_TYPES = ("text/html", "application/xhtml+xml", "")  # no Content-Type at all: the extractor decides
ROBOTS_TTL = 24 * 3600.0  # RFC 9309 2.4: a robots.txt should not be cached for more than 24 hours
ROBOTS_RETRY = 600.0  # seconds an unreachable robots.txt (5xx, timeout) keeps its host's articles unread
ROBOTS_MAX_BYTES = 512 * 1024  # RFC 9309 2.5: parsers must read at least 500 KiB
ROBOTS_HOSTS = 5000  # hosts whose robots.txt is cached; past it the oldest entry goes
_NO_ANSWER = frozenset({"blocked", "connect", "timeout"})  # robots.txt failures that say the site cannot be read


Robots = tuple[RobotFileParser, FetchError | None]  # a host's rules, and why its robots.txt was not read


@dataclass(frozen=True)
class Page:
    url: str  # where it finally came from (after redirects)
    content: bytes
    content_type: str


class ArticleFetcher:
    """Robots.txt rules per origin (scheme, host and port), cached, fetched once however many articles of a host
    are read at the same time; the HTTP client is the runtime's Fetcher, passed in by the caller (a reload or a
    test may replace it)."""

    def __init__(self, *, timeout: float, max_bytes: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout, self.max_bytes = timeout, max_bytes
        self._clock = clock
        self._rules: dict[str, tuple[float, Robots]] = {}  # origin -> (expires, rules)
        self._pending: dict[str, asyncio.Task[Robots]] = {}

    async def page(self, fetcher: Fetcher, url: str, origin: str) -> Page | ArticleText:
        """The article at `url`, an item's link in the feed whose own URL is `origin` (which decides whether a
        private address may be reached: monitor.feeds.addresses.trusted)."""
        rules, error = await self._robots(fetcher, url, origin)
        if error is not None and error.kind in _NO_ANSWER:  # the article would get none either (or is out of bounds)
            return ArticleText("failed", detail=f"{error} (robots.txt)"[:250])
        if not rules.can_fetch(fetcher.limits.user_agent, url):
            unreachable = f" (unreachable: {error})" if error is not None else ""
            return ArticleText("disallowed", detail=f"robots.txt of {_origin(url)}{unreachable}"[:250])
        try:
            result = await fetcher.fetch_page(url, Caps(self.timeout, self.max_bytes, HTML_ACCEPT, origin))
        except FetchError as exc:
            return ArticleText("failed", detail=str(exc)[:250])  # "timeout: ...", "blocked: ...", "http: ..."
        media = result.content_type.split(";")[0].strip().lower()
        if media not in HTML_TYPES:
            return ArticleText("not_html", detail=media)
        return Page(result.url, result.content, result.content_type)

    async def _robots(self, fetcher: Fetcher, url: str, origin: str) -> Robots:
        key = _origin(url)
        cached = self._rules.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        task = self._pending.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():  # (one left by a finished loop)
            task = asyncio.ensure_future(self._fetch_robots(fetcher, key, origin))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._pending.pop(key, None) if self._pending.get(key) is done
                                   else None)
        # shielded: an article given up on (the poll's time ran out) must not cancel the host's other readers' wait
        return await asyncio.shield(task)

    async def _fetch_robots(self, fetcher: Fetcher, key: str, origin: str) -> Robots:
        rules, ttl, error = RobotFileParser(f"{key}/robots.txt"), ROBOTS_TTL, None
        caps = Caps(min(self.timeout, 5.0), ROBOTS_MAX_BYTES, "text/plain, */*;q=0.1", origin)
        try:
            result = await fetcher.fetch_page(f"{key}/robots.txt", caps)
            rules.parse(result.content.decode("utf-8", errors="replace").splitlines())
        except FetchError as exc:
            error = exc
            # RFC 9309 2.3.1: "unavailable" (4xx) allows everything; "unreachable" (5xx, no answer, and here 429, a
            # refused address or a file too large to be one) disallows everything until it is asked again
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                rules.parse([])
            else:
                rules.parse(["User-agent: *", "Disallow: /"])
                ttl = ROBOTS_RETRY
        if len(self._rules) >= ROBOTS_HOSTS:
            del self._rules[next(iter(self._rules))]
        self._rules[key] = (self._clock() + ttl, (rules, error))
        return rules, error


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"
