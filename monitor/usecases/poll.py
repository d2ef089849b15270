"""The poll use case, top to bottom: claim the feeds that are due, fetch each (conditional GET), parse and score
what is new in a worker process, read the candidates' articles and score them again (monitor.usecases.fulltext),
then one transaction stores the new items, files them in stories and writes their alerts with the feed's
bookkeeping (monitor.usecases.bookkeeping). A feed never raises to the caller: its row records what happened and
when to come back. The scheduler hands each new alert to delivery at once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar

import structlog

from monitor.config import Config
from monitor.domain import FeedSpec
from monitor.errors import FetchError, ParseError
from monitor.feeds.fetch import FetchResult
from monitor.feeds.pool import Ingested
from monitor.store import cluster, repo
from monitor.store.db import session
from monitor.store.groupcommit import GroupCommit
from monitor.store.tables import FeedRow
from monitor.usecases.bookkeeping import record_failure, record_success, record_unchanged
from monitor.usecases.context import Runtime
from monitor.usecases.feed_health import tell_health
from monitor.usecases.fulltext import read_articles

log = structlog.get_logger("monitor.usecases.poll")
T = TypeVar("T")
KNOWN_UIDS = 1000  # more than any feed's document holds; an older item reappearing is only scored in vain


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
    articles: int = 0  # candidates whose article was tried (issue 18)
    articles_read: int = 0  # of them, read and scored


def feed_specs(config: Config) -> list[FeedSpec]:
    default = config.settings.polling.interval
    return [FeedSpec(f.name, f.url, f.interval or default, f.tags, f.language, f.enabled, f.fulltext)
            for f in config.feeds]


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
    return list(await asyncio.gather(*(refresh_feed_guarded(rt, feed) for feed in due)))


async def refresh_feed_guarded(rt: Runtime, feed: FeedRow) -> PollOutcome:
    """refresh_feed, with a defect of ours in one feed's refresh logged and told as that feed's failure: the other
    feeds of the round are polled and recorded all the same (the daemon's scheduler and `run --once` alike)."""
    try:
        return await refresh_feed(rt, feed)
    except Exception as exc:
        log.exception("feed_refresh_crashed", feed=feed.name)
        return PollOutcome(feed.name, "failed", error=repr(exc))


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
        await tell_health(rt, await _unchanged(rt).submit(rt.writer, (feed, result)))
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
    parsed = ingested.parsed
    if not parsed.items and parsed.broken:
        reason = parsed.bozo_message if parsed.version else "not an RSS, Atom, RDF or JSON feed"
        return await _failed(rt, feed, FetchError("parse", reason, url=result.url, status=result.status))
    _warn(rt, bound, ingested)
    # candidates' articles read and scored before anything is stored: their alert is decided once, on the full text
    scores, articles = await read_articles(rt, feed, parsed.items, ingested.scores, ingested.set_aside)
    new, alerts, row = await _write(rt, record_success, rt, feed, result, parsed, scores, ingested.fingerprints,
                                    ingested.set_aside, {uid: (a.text or None, a.label) for uid, a in articles.items()})
    await tell_health(rt, row)
    read = sum(a.read for a in articles.values())
    if new:
        bound.info("feed_refreshed", new_items=new, alerts=alerts, items=len(parsed.items), articles_read=read,
                   articles_not_read=len(articles) - read)
    return PollOutcome(feed.name, "ok", new, alerts, parsed=len(parsed.items),
                       severities=tuple(s.severity.label for item in scores.values() for s in item),
                       scored_items=len(scores), scoring_seconds=ingested.scoring_seconds, parser=parsed.parser,
                       articles=len(articles), articles_read=read)


def _warn(rt: Runtime, bound: Any, ingested: Ingested) -> None:
    """What an operator should know about a document that was read all the same."""
    parsed = ingested.parsed
    if parsed.bozo:
        bound.warning("feed_not_well_formed", bozo=parsed.bozo_kind, error=parsed.bozo_message,
                      items=len(parsed.items))
    if ingested.cut:
        bound.warning("feed_items_cut", kept=len(parsed.items), left_out=ingested.cut,
                      limit=rt.config.settings.polling.max_items)
    if ingested.set_aside:
        bound.warning("items_set_aside", items=ingested.set_aside)


async def _failed(rt: Runtime, feed: FeedRow, error: FetchError) -> PollOutcome:
    row = await _write(rt, record_failure, rt, feed, error)
    log.warning("feed_fetch_failed", feed=feed.name, kind=error.kind, error=str(error), status=error.status,
                url=error.url or feed.url, failures=row.consecutive_failures,
                next_poll=row.next_poll_at.isoformat() if row.next_poll_at else None)
    await tell_health(rt, row)
    return PollOutcome(feed.name, "gone" if error.kind == "gone" else "failed", error=str(error))


async def _write(rt: Runtime, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.get_running_loop().run_in_executor(rt.writer, fn, *args)


def _known_uids(rt: Runtime, feed: FeedRow) -> frozenset[str]:
    """The feed's most recent item ids: the items of a document that are surely not new, and not scored."""
    assert feed.id is not None
    with session(rt.engine) as s:
        return frozenset(repo.recent_uids(s, feed.id, KNOWN_UIDS))


def _unchanged(rt: Runtime) -> GroupCommit[tuple[FeedRow, FetchResult], FeedRow]:
    """The runtime's group commit for 304 bookkeeping, made on first use."""
    if rt.unchanged is None:
        rt.unchanged = GroupCommit(partial(record_unchanged, rt))
    return rt.unchanged
