"""A real Runtime on a real SQLite file for polling tests, with a clock the test moves by hand."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.config import load_config
from monitor.feeds.fetch import Fetcher
from monitor.store.db import make_engine
from monitor.store.migrate import ensure_schema
from monitor.usecases import poll
from monitor.usecases.context import Runtime
from monitor.usecases.poll import PollOutcome
from tests.support.configdir import write_config

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)

WATCHLIST = {
    "name": "escalation",
    "actors": [{"id": "nato", "name": "NATO", "aliases": ["NATO", "НАТО"]},
               {"id": "russia", "name": "Russia", "aliases": ["Russia", "Moscow", "Россия"]}],
    "keywords": [{"term": "war", "weight": 2}, {"term": "missile", "weight": 3}, {"term": "strike", "weight": 2},
                 {"term": "troops", "weight": 1}, {"term": "nuclear", "weight": 4}],
    "severities": {"watch": 3, "warning": 6, "critical": 10},
    "notify": [{"channels": ["console"], "min_severity": "critical"}],
}


class Clock:
    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def make_runtime(directory: Path, feeds: list[dict[str, Any]], *, settings: dict[str, Any] | None = None,
                 channels: dict[str, Any] | None = None, clock: Clock | None = None) -> Runtime:
    settings = dict(settings or {})
    polling = {"parse_workers": 0, "min_interval": "1m", "interval": "10m", "max_interval": "1h",
               **settings.pop("polling", {})}
    config_dir = write_config(directory, feeds=feeds, channels=channels, watchlists={"escalation": WATCHLIST},
                              settings={"polling": polling, **settings})
    config = load_config(config_dir, env={})
    engine = make_engine(config.database_url)
    ensure_schema(engine)
    rt = Runtime.build(config, engine, clock=clock or Clock())
    rt.rng = random.Random(8)
    poll.sync_feeds(rt)
    return rt


def cycle(rt: Runtime) -> dict[str, PollOutcome]:
    """One poll cycle over every due feed, on a fresh event loop (the client is bound to its loop)."""
    async def run() -> list[PollOutcome]:
        rt.fetcher = Fetcher(rt.fetcher.limits, clock=rt.clock)
        try:
            return await poll.poll_due(rt)
        finally:
            await rt.fetcher.aclose()
    return {o.feed: o for o in asyncio.run(run())}


def db(rt: Runtime) -> sqlite3.Connection:
    connection = sqlite3.connect(str(rt.engine.url.database))
    connection.row_factory = sqlite3.Row
    return connection


def feed_row(rt: Runtime, name: str) -> sqlite3.Row:
    with db(rt) as c:
        row = c.execute("select * from feeds where name = ?", (name,)).fetchone()
    assert row is not None, name
    return row


def when(value: str | None) -> datetime | None:
    """A datetime column as SQLite stores it, back to an aware datetime."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def rss(items: list[dict[str, str]], *, title: str = "Test feed", extra: str = "") -> bytes:
    """A small RSS 2.0 document; each item dict may have title, link, guid, description, pubDate."""
    parts = []
    for item in items:
        fields = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
        parts.append(f"<item>{fields}</item>")
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://example.org/</link>{extra}{''.join(parts)}</channel></rss>").encode()


def news_items(n: int, *, start: datetime = START, every: float = 3600, prefix: str = "story") -> list[dict[str, str]]:
    from email.utils import format_datetime

    return [{"title": f"{prefix} {i}: troops and talks", "link": f"https://example.org/{prefix}/{i}?utm_source=rss",
             "guid": f"urn:{prefix}:{i}", "description": f"&lt;p&gt;Report {i} &lt;b&gt;here&lt;/b&gt;&lt;/p&gt;",
             "pubDate": format_datetime(start - timedelta(seconds=every * i))} for i in range(n)]
