"""Use cases: the one place that knows every adapter. refresh_feed: fetch -> parse -> store -> score -> outbox;
deliver_pending: outbox -> alerts -> recorded outcomes."""

from __future__ import annotations

import asyncio
import html
import os
import random
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeVar

import structlog
from sqlalchemy import Engine

from alerts.render import Rendered, Renderer
from alerts.sender import Sender
from monitor import delivery
from monitor.config import Config
from monitor.core import health
from monitor.core.cadence import adaptive_interval, publishing_gap
from monitor.core.schedule import failure_delay, success_delay
from monitor.core.scoring import Scorer
from monitor.core.stories import Fingerprint
from monitor.domain import FeedSpec, Score
from monitor.errors import FetchError, ParseError
from monitor.feeds.fetch import Fetcher, FetchLimits, FetchResult
from monitor.feeds.parse import ParsedFeed
from monitor.feeds.pool import CpuPool
from monitor.groupcommit import GroupCommit
from monitor.store import cluster, repo
from monitor.store import stories as stories_store
from monitor.store.db import session
from monitor.store.tables import FeedRow
from monitor.stories import StoryTracker, file_and_alert

DeliveryStats = delivery.DeliveryStats  # re-exported: the daemon and scheduler report it

log = structlog.get_logger("monitor.service")
T = TypeVar("T")
KNOWN_UIDS = 1000  # more than any feed's document holds; an older item reappearing is only scored in vain
PEER_ALIVE = 60.0  # a worker whose heartbeat is this recent (seconds) is alive (heartbeats come every 10 s)
HEALTH_RETELL = 600.0  # the health sweep leaves a feed polled this recently (seconds) to its own poll's retelling


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
    renderer: Renderer = field(default_factory=Renderer)
    cpu: CpuPool | None = None  # parsing and scoring off the event loop; a thread when not given
    # Feed bookkeeping writes queue on one thread: SQLite has one writer anyway, and writers waiting in its busy
    # handler sleep in steps of up to 100 ms, which left the parse workers idle.
    writer: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="feed-db"))
    worker: str = field(default_factory=cluster.new_worker_id)
    # the process-wide story index: built empty here, loaded once (daemon start or first use), kept on reload
    stories: StoryTracker = field(default_factory=StoryTracker)
    # 304s' bookkeeping, written in groups on the writer thread (monitor.groupcommit)
    unchanged: GroupCommit[tuple[FeedRow, FetchResult], FeedRow] = field(init=False)

    def __post_init__(self) -> None:
        self.unchanged = GroupCommit(partial(_record_unchanged, self))

    @property
    def lease(self) -> float:
        """How long a claimed feed stays ours: longer than the fetch deadline plus parse and store."""
        polling = self.config.settings.polling
        return polling.lease or polling.deadline + 30.0

    @classmethod
    def build(cls, config: Config, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> Runtime:
        polling = config.settings.polling
        fetcher = Fetcher(FetchLimits(timeout=polling.timeout, deadline=polling.deadline,
                                      max_bytes=polling.max_bytes, max_redirects=polling.max_redirects,
                                      concurrency=polling.concurrency, per_host=polling.per_host,
                                      user_agent=polling.user_agent), clock=clock)
        sender = Sender({name: ch.urls for name, ch in config.channels.items()},
                        timeout=config.settings.delivery.timeout)
        workers = (os.cpu_count() or 1) if polling.parse_workers is None else polling.parse_workers
        return cls(config, engine, fetcher, Scorer(config.watchlists), sender, clock,
                   renderer=Renderer(config.directory / "templates"), cpu=CpuPool(workers, config.watchlists))

    def pool(self) -> CpuPool:
        if self.cpu is None:
            self.cpu = CpuPool(0, self.config.watchlists)
        return self.cpu


@dataclass(frozen=True)
class PollOutcome:
    feed: str
    status: str  # ok, not_modified, failed, gone
    new_items: int = 0
    alerts: int = 0
    error: str | None = None
    parsed: int = 0  # items in the document (changed feeds only), new or not
    severities: tuple[str, ...] = ()  # of every score computed this poll (one per item and watchlist)
    scored_items: int = 0
    scoring_seconds: float = 0.0  # for all of them
    parser: str = ""  # which parser read the document (changed feeds only): fast or feedparser


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
    """Poll one feed: fetch, then parse, score and store what is new (all off the event loop). Whatever the
    feed does, its row records what happened and when to come back; the caller never sees an exception
    from the feed itself."""
    bound = log.bind(feed=feed.name)
    try:
        result = await rt.fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
    except FetchError as exc:
        return await _failed(rt, feed, exc)
    if result.not_modified or result.digest == feed.content_hash:
        await _tell_health(rt, await rt.unchanged.submit(rt.writer, (feed, result)))
        return PollOutcome(feed.name, "not_modified")
    if not result.content.strip():
        return await _failed(rt, feed, FetchError("empty", "HTTP 200 with an empty body", url=result.url,
                                                  status=result.status))
    known = await asyncio.to_thread(_known_uids, rt, feed)
    try:
        ingested = await rt.pool().ingest(
            result.content, known=known, feed=feed.name, url=result.url, now=rt.clock(),
            content_type=result.content_type, language=feed.language, tags=tuple(feed.tags))
    except ParseError as exc:
        return await _failed(rt, feed, FetchError("parse", str(exc), url=result.url, status=result.status))
    parsed, scores = ingested.parsed, ingested.scores
    if not parsed.items and parsed.broken:
        reason = parsed.bozo_message if parsed.version else "not an RSS, Atom, RDF or JSON feed"
        return await _failed(rt, feed, FetchError("parse", reason, url=result.url, status=result.status))
    if parsed.bozo:
        bound.warning("feed_not_well_formed", bozo=parsed.bozo_kind, error=parsed.bozo_message,
                      items=len(parsed.items))
    new, alerts, row = await _write(rt, _record_success, rt, feed, result, parsed, scores, ingested.fingerprints)
    await _tell_health(rt, row)
    if new:
        bound.info("feed_refreshed", new_items=new, alerts=alerts, items=len(parsed.items))
    return PollOutcome(feed.name, "ok", new, alerts, parsed=len(parsed.items),
                       severities=tuple(s.severity.label for item in scores.values() for s in item),
                       scored_items=len(scores), scoring_seconds=ingested.scoring_seconds, parser=parsed.parser)


async def _failed(rt: Runtime, feed: FeedRow, error: FetchError) -> PollOutcome:
    row = await _write(rt, _record_failure, rt, feed, error)
    log.warning("feed_fetch_failed", feed=feed.name, kind=error.kind, error=str(error), status=error.status,
                url=error.url or feed.url, failures=row.consecutive_failures,
                next_poll=row.next_poll_at.isoformat() if row.next_poll_at else None)
    await _tell_health(rt, row)
    return PollOutcome(feed.name, "gone" if error.kind == "gone" else "failed", error=str(error))


async def _write(rt: Runtime, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(rt.writer, fn, *args)


def _known_uids(rt: Runtime, feed: FeedRow) -> frozenset[str]:
    """The feed's most recent item ids: the items of a document that are surely not new, and not scored."""
    assert feed.id is not None
    with session(rt.engine) as s:
        return frozenset(repo.recent_uids(s, feed.id, KNOWN_UIDS))


def _interval(rt: Runtime, row: FeedRow) -> float:
    """The feed's polling interval before backoff and floors: its publishing cadence, else its configured one."""
    polling = rt.config.settings.polling
    cadence = row.cadence if polling.adaptive else None
    return adaptive_interval(cadence, default=row.interval, min_interval=polling.min_interval,
                             max_interval=polling.max_interval)


def _succeeded(rt: Runtime, row: FeedRow, result: FetchResult, now: datetime) -> bool:
    """Bookkeeping shared by every success, 304 or 200: validators, a permanent move, the next poll. True when
    the feed moved (its URL is to be written too)."""
    polling = rt.config.settings.polling
    moved_to = result.moved_to if result.moved_to != row.url else None
    if moved_to is not None:
        log.info("feed_moved", feed=row.name, old=row.url, new=moved_to,
                 hint="permanent redirect: update feeds.yaml when convenient")
        row.url = moved_to
    if result.etag or result.last_modified or not result.not_modified:
        _assign(row, etag=result.etag, last_modified=result.last_modified)
    floor = max(filter(None, (result.max_age, row.ttl)), default=None)
    row.next_poll_at = now + timedelta(seconds=success_delay(
        _interval(rt, row), min_interval=polling.min_interval, max_interval=polling.max_interval, floor=floor,
        rng=rt.rng))
    row.last_polled_at = row.last_success_at = now
    _assign(row, consecutive_failures=0, last_error=None, last_error_kind=None)
    _assign(row, health=health.assess(_health_state(row), now, _health_rules(rt)))
    cluster.release(row)
    return moved_to is not None


def _assign(row: FeedRow, **values: Any) -> None:
    """Set only what changed: a SQLModel attribute set costs about 6 us (validation, change tracking), and most
    of a healthy feed's bookkeeping writes back the value it already has."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def _record_unchanged(rt: Runtime, polls: Sequence[tuple[FeedRow, FetchResult]]) -> list[FeedRow | Exception]:
    """304s, or the same bytes as last time: poll bookkeeping only, no parsing and no item rows; the feeds that
    came while the writer was busy share one transaction (monitor.groupcommit)."""
    now = rt.clock()
    moved = {feed.id for feed, result in polls if _succeeded(rt, feed, result, now) and feed.id is not None}
    with session(rt.engine) as s:
        missing = repo.record_polls(s, [feed for feed, _ in polls], moved)
        s.commit()
    return [_gone(feed) if feed.id in missing else feed for feed, _ in polls]


def _gone(feed: FeedRow) -> LookupError:
    return LookupError(f"feed {feed.name!r} (id {feed.id}) is no longer in the database")


def _record_success(rt: Runtime, feed: FeedRow, result: FetchResult, parsed: ParsedFeed,
                    scores: dict[str, list[Score]],
                    fingerprints: Mapping[str, Fingerprint] | None = None) -> tuple[int, int, FeedRow]:
    """One transaction: new items, their scores, their stories, their alerts and the feed's bookkeeping, or none
    of them. `scores` holds the scores of the items that were not known; an item without one is not new.

    `feed` is the row claimed for this poll, and the bookkeeping is written from it (repo.record_polls): under
    the lease only this poll changes those columns, and loading the row again cost more than writing it."""
    now = rt.clock()
    assert feed.id is not None
    with session(rt.engine) as s:
        if not repo.touch_feed(s, feed.id, now):
            raise _gone(feed)
        new = repo.insert_new_items(s, feed.id, [i for i in parsed.items if i.uid in scores], now)
        alerts = file_and_alert(rt.config, scores, rt.stories, s, feed, new, now, fingerprints)
        if new or feed.last_new_item_at is None:  # silence is counted from the first poll that worked
            feed.last_new_item_at = now
        if (gap := publishing_gap(parsed.dates, now)) is not None:
            _assign(feed, cadence=gap)
        _assign(feed, ttl=parsed.ttl_seconds, content_hash=result.digest)
        moved = _succeeded(rt, feed, result, now)
        if not parsed.items:  # well-formed and empty: not a failure, but an operator should see it
            feed.last_error_kind = "empty"
            feed.last_error = f"no entries in a well-formed {parsed.version} document"
        repo.record_polls(s, [feed], {feed.id} if moved else ())
        s.commit()
        return len(new), alerts, feed


def _record_failure(rt: Runtime, feed: FeedRow, error: FetchError) -> FeedRow:
    now = rt.clock()
    polling = rt.config.settings.polling
    with session(rt.engine) as s:
        row = s.get(FeedRow, feed.id)
        assert row is not None
        row.consecutive_failures += 1
        row.last_polled_at = row.last_error_at = now
        row.last_error_kind, row.last_error = error.kind, str(error)[:2000]
        if error.kind == "gone":
            row.status, row.next_poll_at = "gone", None
            log.warning("feed_gone", feed=row.name, url=row.url,
                        reason="HTTP 410 Gone: the publisher removed this feed; it is disabled until its URL changes")
        else:
            row.next_poll_at = now + timedelta(seconds=failure_delay(
                _interval(rt, row), row.consecutive_failures, min_interval=polling.min_interval,
                max_interval=polling.max_interval, retry_after=error.retry_after, rng=rt.rng))
        row.health = health.assess(_health_state(row), now, _health_rules(rt))
        cluster.release(row)
        s.add(row)
        s.commit()
        return row


# --- feed health: one notice to the ops channel per change of state ---


def _health_rules(rt: Runtime) -> health.HealthRules:
    settings = rt.config.settings.polling.health
    return health.HealthRules(settings.failures, settings.silence_factor, settings.min_silence)


def _health_state(row: FeedRow) -> health.FeedState:
    return health.FeedState(row.name, row.url, row.status, row.consecutive_failures, row.last_error,
                            row.last_success_at, row.last_new_item_at, row.cadence)


async def retell_health(rt: Runtime) -> int:
    """The health sweep: tell the ops channel of changes no poll will retell soon. A poll tells its own feed's
    change and, when the send fails, the next poll tries again; but a feed that answered 410 is never polled
    again, and a failing feed's next poll may be hours out. Returns how many feeds were looked at."""
    now = rt.clock()
    claimed = await asyncio.to_thread(_claim_untold, rt, now - timedelta(seconds=HEALTH_RETELL))
    try:
        for row in claimed:
            await _tell_health(rt, row)
    finally:
        if claimed:
            await _write(rt, _release, rt, [row.id for row in claimed if row.id is not None])
    return len(claimed)


def _claim_untold(rt: Runtime, polled_before: datetime) -> list[FeedRow]:
    with session(rt.engine) as s:
        claimed = cluster.claim_untold_feeds(s, rt.worker, rt.clock(), rt.lease, polled_before=polled_before)
        s.commit()
        return claimed


def _release(rt: Runtime, feed_ids: list[int]) -> None:
    with session(rt.engine) as s:
        cluster.release_claims(s, rt.worker, feed_ids)
        s.commit()


async def _tell_health(rt: Runtime, row: FeedRow) -> None:
    """Tell the ops channel when the feed's health changed since it last heard; when sending fails, the row
    keeps the difference and the next poll (or the health sweep) tries again."""
    if row.health == row.health_notified:
        return
    state, previous = row.health, row.health_notified
    log.warning("feed_health_changed", feed=row.name, state=state, previous=previous, error=row.last_error)
    channel = rt.config.settings.polling.health.ops_channel
    if channel:
        notice = health.notice(_health_state(row), state, previous, rt.clock())
        page = f"<pre>{html.escape(notice.text)}</pre>"
        outcome = await rt.sender.send(channel, Rendered(notice.subject, notice.text, page))
        if not outcome.ok:
            log.warning("feed_health_notice_failed", feed=row.name, channel=channel, error=outcome.error)
            return
        log.info("feed_health_notice_sent", feed=row.name, channel=channel, state=state)
    await _write(rt, _record_notified, rt, row, state)


def _record_notified(rt: Runtime, row: FeedRow, state: str) -> None:
    with session(rt.engine) as s:
        stored = s.get(FeedRow, row.id)
        assert stored is not None
        stored.health_notified = state
        s.add(stored)
        s.commit()


def heartbeat(rt: Runtime) -> None:
    """This worker is alive; and are others (then each catches up with the stories the others file)?"""
    now = rt.clock()
    with session(rt.engine) as s:
        cluster.heartbeat(s, rt.worker, now)
        s.commit()
        peers = cluster.live_workers(s, now - timedelta(seconds=PEER_ALIVE)) > 1
        rt.stories.mark(now, stories_store.last_item_id(s), peers=peers)


def retire(rt: Runtime) -> None:
    """Clean shutdown: give back this worker's leases so others need not wait for them to expire."""
    with session(rt.engine) as s:
        cluster.forget_worker(s, rt.worker)
        s.commit()


# --- delivery ---


async def deliver_pending(rt: Runtime, *, channels: Collection[str] | None = None) -> DeliveryStats:
    """Send every due delivery (see monitor.delivery: claims, flood control, retries, fallbacks)."""
    return await delivery.deliver_pending(rt, channels=channels)
