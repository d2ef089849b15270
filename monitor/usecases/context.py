"""What every use case works with: the configuration and the adapters built from it, in one container. The daemon
builds it once and rebuilds it (all or nothing) on reload; the use cases read it and never build adapters."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from alerts.render import Renderer
from alerts.sender import Sender
from monitor.config import Config
from monitor.config.settings import FulltextSettings, PollingSettings
from monitor.feeds.article import ArticleFetcher
from monitor.feeds.fetch import Fetcher, FetchLimits, FetchResult
from monitor.feeds.pool import CpuPool, WorkLimits
from monitor.store import cluster
from monitor.store.groupcommit import GroupCommit
from monitor.store.tables import FeedRow
from monitor.usecases.article_cache import ArticleCache
from monitor.usecases.story_cache import StoryCache


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What the use cases need; built once by the daemon and rebuilt (all or nothing) on reload."""

    config: Config
    engine: Engine
    fetcher: Fetcher
    sender: Sender
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    renderer: Renderer = field(default_factory=Renderer)
    cpu: CpuPool | None = None  # parsing and scoring off the event loop; a thread when not given
    # Feed bookkeeping writes queue on one thread: SQLite has one writer anyway, and writers waiting in its busy
    # handler sleep in steps of up to 100 ms, which left the parse workers idle.
    writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="feed-db"))
    worker: str = field(default_factory=cluster.new_worker_id)
    # the process-wide story index: built empty here, loaded once (daemon start or first use), kept on reload
    story_cache: StoryCache = field(default_factory=StoryCache)
    # 304s' bookkeeping, written in groups on the writer thread (monitor.store.groupcommit); made by the poll use
    # case on first use, one per runtime (init=False: a reload's dataclasses.replace starts the new one empty)
    unchanged: GroupCommit[tuple[FeedRow, FetchResult], FeedRow] | None = field(init=False, default=None)
    # full text for candidates (issue 18): robots.txt rules per host, and the articles read lately
    articles: ArticleFetcher = field(default_factory=lambda: article_fetcher(FulltextSettings()))
    article_cache: ArticleCache = field(default_factory=ArticleCache)

    @property
    def lease(self) -> float:
        """How long a claimed feed stays ours: longer than the fetch deadline, the time for articles, parse and
        store."""
        polling = self.config.settings.polling
        return polling.lease or polling.deadline + polling.fulltext.budget + 30.0

    @classmethod
    def build(cls, config: Config, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> Runtime:
        polling = config.settings.polling
        fetcher = Fetcher(FetchLimits(timeout=polling.timeout, deadline=polling.deadline,
                                      max_bytes=polling.max_bytes, max_redirects=polling.max_redirects,
                                      concurrency=polling.concurrency, per_host=polling.per_host,
                                      user_agent=polling.user_agent,
                                      allow_private_networks=polling.allow_private_networks), clock=clock)
        sender = Sender({name: ch.urls for name, ch in config.channels.items()},
                        timeout=config.settings.delivery.timeout)
        workers = (os.cpu_count() or 1) if polling.parse_workers is None else polling.parse_workers
        return cls(config, engine, fetcher, sender, clock,
                   renderer=Renderer(config.directory / "templates"),
                   cpu=CpuPool(workers, config.watchlists, work_limits(polling), model=config.settings.scoring.model,
                               articles=any(feed.fulltext != "never" for feed in config.feeds)),
                   articles=article_fetcher(polling.fulltext))

    def pool(self) -> CpuPool:
        if self.cpu is None:
            self.cpu = CpuPool(0, self.config.watchlists, work_limits(self.config.settings.polling),
                               model=self.config.settings.scoring.model)
        return self.cpu


def article_fetcher(settings: FulltextSettings) -> ArticleFetcher:
    return ArticleFetcher(timeout=settings.timeout, max_bytes=settings.max_bytes)


def work_limits(polling: PollingSettings) -> WorkLimits:
    return WorkLimits(max_items=polling.max_items, item_seconds=polling.item_time_limit,
                      document_seconds=polling.parse_time_limit)
