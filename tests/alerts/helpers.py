"""Building blocks for delivery tests: a config directory with one watchlist, feeds served on
loopback, a runtime with a clock the test moves, and the database as SQL sees it."""

from __future__ import annotations

import asyncio
import html
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from monitor.config import load_config
from monitor.store.db import make_engine
from monitor.store.migrate import ensure_schema as prepare_schema
from monitor.usecases import deliver, poll
from monitor.usecases.context import Runtime
from tests.support.configdir import write_config
from tests.support.servers import HttpServer, Response

START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday, noon UTC


def watchlist(channels: Sequence[str], min_severity: str = "watch") -> dict[str, Any]:
    """'war' alone is a warning, 'nuclear' makes it critical."""
    return {
        "name": "escalation",
        "actors": [{"id": "nato", "name": "NATO", "aliases": ["NATO"]}],
        "keywords": [{"term": "war", "weight": 4}, {"term": "nuclear", "weight": 30}],
        "severities": {"watch": 2, "warning": 4, "critical": 25},
        "notify": [{"channels": list(channels), "min_severity": min_severity}],
    }


def rss(items: Sequence[tuple[str, ...]], link_base: str = "http://news.invalid/a/") -> bytes:
    """A feed of (guid, title[, link]) items, published an hour before START. Titles are text as a reader
    should see it, so they are written the way feeds write text: HTML-escaped, then XML-escaped."""
    entries = "".join(
        f"<item><guid>{escape(it[0])}</guid><title>{escape(html.escape(it[1], quote=False))}</title>"
        f"<link>{escape(it[2] if len(it) > 2 else link_base + it[0])}</link>"
        "<pubDate>Mon, 02 Mar 2026 11:00:00 GMT</pubDate></item>"
        for it in items
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>http://news.invalid/</link><description>d</description>{entries}</channel></rss>").encode()


def serve_feed(server: HttpServer, items: Sequence[tuple[str, ...]], path: str = "/feed.xml") -> str:
    server.routes[path] = Response(200, rss(items), {"Content-Type": "application/rss+xml"})
    return server.url(path)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Setup:
    config_dir: Path
    clock: Clock = field(default_factory=Clock)
    _rt: Runtime | None = None
    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)  # one loop: httpx binds to it

    @property
    def rt(self) -> Runtime:
        if self._rt is None:
            config = load_config(self.config_dir, env={})
            engine = make_engine(config.database_url)
            prepare_schema(engine)
            self._rt = Runtime.build(config, engine, clock=self.clock)
            poll.sync_feeds(self._rt)
        return self._rt

    def poll(self) -> list[poll.PollOutcome]:
        return self.loop.run_until_complete(poll.poll_due(self.rt))

    def deliver(self) -> deliver.DeliveryStats:
        return self.loop.run_until_complete(deliver.deliver_pending(self.rt))

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.config_dir / "monitor.db")

    def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.db() as db:
            return db.execute(sql, args).fetchall()

    def close(self) -> None:
        if self._rt is not None:
            if self._rt.cpu is not None:
                self._rt.cpu.close()  # the parse workers: left running, they piled up and could hang the exit
            self.loop.run_until_complete(self._rt.fetcher.aclose())
            self._rt.engine.dispose()
        self.loop.close()


def setup(tmp_path: Path, feed_url: str, channels: dict[str, dict[str, Any]], *,
          delivery: dict[str, Any] | None = None, min_severity: str = "watch") -> Setup:
    settings = {"delivery": {"backoff": "1s", "max_backoff": "10s", "max_attempts": 5, "timeout": "2s",
                             "lease": "1s", **(delivery or {})}}
    config = write_config(tmp_path / "config", feeds=[{"url": feed_url, "name": "Wire", "tags": ["world"]}],
                          channels=channels, watchlists={"escalation": watchlist(list(channels), min_severity)},
                          settings=settings)
    return Setup(config)
