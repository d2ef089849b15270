"""Use cases: the one place that knows every adapter. refresh_feed: fetch -> parse -> store -> score -> outbox;
deliver_pending: outbox -> alerts -> recorded outcomes."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from sqlalchemy import Engine

from alerts.render import Renderer
from alerts.sender import Sender
from monitor import delivery
from monitor.config import Config
from monitor.core.schedule import next_poll
from monitor.core.scoring import Scorer
from monitor.domain import FeedSpec, Item
from monitor.errors import FetchError
from monitor.feeds.fetch import Fetcher, FetchLimits, FetchResult
from monitor.feeds.parse import ParsedFeed, parse_feed
from monitor.store import cluster, repo
from monitor.store.db import session
from monitor.store.tables import FeedRow
from monitor.stories import StoryTracker, file_and_alert

DeliveryStats = delivery.DeliveryStats  # re-exported: the daemon and scheduler report it

log = structlog.get_logger("monitor.service")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Runtime:
    """What the use cases need; built once by the daemon and rebuilt (all or nothing) on reload."""

    config: Config
    engine: Engine
    fetcher: Fetcher
    scorer: Scorer
    sender: Sender
    clock: Callable[[], datetime] = utcnow
    rng: random.Random = field(default_factory=random.Random)
    worker: str = field(default_factory=cluster.new_worker_id)
    # the process-wide story index: built empty here, loaded once (daemon start or first use), kept on reload
    stories: StoryTracker = field(default_factory=StoryTracker)

    @property
    def lease(self) -> float:
        """How long a claimed feed stays ours: longer than the fetch deadline plus parse and store."""
        polling = self.config.settings.polling
        return polling.lease or polling.timeout * 2 + 30.0
    renderer: Renderer = field(default_factory=Renderer)

    @classmethod
    def build(cls, config: Config, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> Runtime:
        polling = config.settings.polling
        fetcher = Fetcher(FetchLimits(timeout=polling.timeout, max_bytes=polling.max_bytes,
                                      max_redirects=polling.max_redirects, concurrency=polling.concurrency,
                                      per_host=polling.per_host, user_agent=polling.user_agent))
        sender = Sender({name: ch.urls for name, ch in config.channels.items()},
                        timeout=config.settings.delivery.timeout)
        return cls(config, engine, fetcher, Scorer(config.watchlists), sender, clock,
                   renderer=Renderer(config.directory / "templates"))


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    status: str  # ok, not_modified, failed, gone
    new_items: int = 0
    alerts: int = 0
    error: str | None = None


def feed_specs(config: Config) -> list[FeedSpec]:
    default = config.settings.polling.interval
    return [FeedSpec(f.name, f.url, f.interval or default, f.tags, f.language, f.enabled) for f in config.feeds]


def sync_feeds(rt: Runtime) -> None:
    with session(rt.engine) as s:
        repo.sync_feeds(s, feed_specs(rt.config), rt.clock())
        s.commit()


def claim_due(rt: Runtime, limit: int = 200) -> list[FeedRow]:
    """Due feeds, claimed under a lease so no other worker polls them meanwhile."""
    with session(rt.engine) as s:
        claimed = cluster.claim_due_feeds(s, rt.worker, rt.clock(), rt.lease, limit)
        s.commit()
        return claimed


async def poll_due(rt: Runtime) -> list[PollOutcome]:
    """Refresh every feed that is due now, concurrently (the fetcher bounds the concurrency)."""
    due: list[FeedRow] = []
    while batch := claim_due(rt):
        due += batch
    return list(await asyncio.gather(*(refresh_feed(rt, feed) for feed in due)))


async def refresh_feed(rt: Runtime, feed: FeedRow) -> PollOutcome:
    bound = log.bind(feed=feed.name)
    try:
        result = await rt.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        await asyncio.to_thread(_record_failure, rt, feed, exc)
        bound.warning("feed_fetch_failed", kind=exc.kind, error=str(exc), status=exc.status)
        return PollOutcome(feed.name, "gone" if exc.kind == "gone" else "failed", error=str(exc))
    if result.not_modified:
        await asyncio.to_thread(_record_success, rt, feed, result, None, [])
        return PollOutcome(feed.name, "not_modified")
    parsed = await asyncio.to_thread(
        parse_feed, result.content, feed=feed.name, url=result.url, now=rt.clock(),
        content_type=result.content_type, language=feed.language, tags=tuple(feed.tags))
    if parsed.bozo and not parsed.items:
        error = FetchError("parse", parsed.bozo_message or "not a feed", url=result.url, status=result.status)
        await asyncio.to_thread(_record_failure, rt, feed, error)
        bound.warning("feed_parse_failed", error=parsed.bozo_message)
        return PollOutcome(feed.name, "failed", error=str(error))
    if parsed.bozo:
        bound.warning("feed_not_well_formed", error=parsed.bozo_message, items=len(parsed.items))
    new, alerts = await asyncio.to_thread(_record_success, rt, feed, result, parsed, parsed.items)
    if new:
        bound.info("feed_refreshed", new_items=new, alerts=alerts)
    return PollOutcome(feed.name, "ok", new, alerts)


def _record_success(rt: Runtime, feed: FeedRow, result: FetchResult, parsed: ParsedFeed | None,
                    items: list[Item]) -> tuple[int, int]:
    """One transaction: new items, their scores, their alerts and the feed's bookkeeping, or none of them."""
    now = rt.clock()
    polling = rt.config.settings.polling
    with session(rt.engine) as s:
        row = s.get(FeedRow, feed.id)
        assert row is not None and row.id is not None
        new = repo.insert_new_items(s, row.id, items, now)
        alerts = file_and_alert(rt.config, rt.scorer, rt.stories, s, row, new, now)
        if result.moved_to and result.moved_to != row.url:
            log.info("feed_moved", feed=row.name, old=row.url, new=result.moved_to)
            row.url = result.moved_to
        if result.etag or result.last_modified or not result.not_modified:
            row.etag, row.last_modified = result.etag, result.last_modified
        floor = max(filter(None, (result.max_age, parsed.ttl_seconds if parsed else None)), default=None)
        row.next_poll_at = next_poll(now, interval=row.interval, min_interval=polling.min_interval,
                                     max_interval=polling.max_interval, floor=floor, rng=rt.rng)
        row.last_polled_at = row.last_success_at = now
        if new:
            row.last_new_item_at = now
        row.consecutive_failures, row.last_error, row.last_error_kind = 0, None, None
        cluster.release(row)
        s.add(row)
        s.commit()
    return len(new), alerts


def _record_failure(rt: Runtime, feed: FeedRow, error: FetchError) -> None:
    now = rt.clock()
    polling = rt.config.settings.polling
    with session(rt.engine) as s:
        row = s.get(FeedRow, feed.id)
        assert row is not None
        row.consecutive_failures += 1
        row.last_polled_at = now
        row.last_error_kind, row.last_error = error.kind, str(error)[:2000]
        if error.kind == "gone":
            row.status = "gone"
            log.warning("feed_gone", feed=row.name, url=row.url, reason="HTTP 410: the publisher removed this feed")
        row.next_poll_at = next_poll(now, interval=row.interval, min_interval=polling.min_interval,
                                     max_interval=polling.max_interval, failures=row.consecutive_failures,
                                     retry_after=error.retry_after, rng=rt.rng)
        cluster.release(row)
        s.add(row)
        s.commit()


def heartbeat(rt: Runtime) -> None:
    with session(rt.engine) as s:
        cluster.heartbeat(s, rt.worker, rt.clock())
        s.commit()


def retire(rt: Runtime) -> None:
    """Clean shutdown: give back this worker's leases so others need not wait for them to expire."""
    with session(rt.engine) as s:
        cluster.forget_worker(s, rt.worker)
        s.commit()


# --- delivery ---


async def deliver_pending(rt: Runtime, *, channels: Collection[str] | None = None) -> DeliveryStats:
    """Send every due delivery (see monitor.delivery: claims, flood control, retries, fallbacks)."""
    return await delivery.deliver_pending(rt, channels=channels)
