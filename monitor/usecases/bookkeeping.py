"""A poll's bookkeeping on the feed row, off the event loop on the writer thread: validators, a permanent move,
the next poll time (adaptive cadence, backoff), health; and for a changed feed, the one transaction that also
stores its new items, files them in stories and writes their alerts (monitor.usecases.story_alerts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog

from monitor.core import health
from monitor.core.cadence import adaptive_interval, publishing_gap
from monitor.core.fingerprint import Fingerprint
from monitor.core.schedule import failure_delay, success_delay
from monitor.domain import Score
from monitor.errors import FetchError
from monitor.feeds.fetch import FetchResult
from monitor.feeds.parse import ParsedFeed
from monitor.store import cluster, repo
from monitor.store.db import session
from monitor.store.tables import FeedRow
from monitor.usecases.context import Runtime
from monitor.usecases.feed_health import health_rules, health_state
from monitor.usecases.story_alerts import file_and_alert

log = structlog.get_logger("monitor.usecases.bookkeeping")


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
    moved = _move(row, result.moved_to)
    if result.etag or result.last_modified or not result.not_modified:
        _assign(row, etag=result.etag, last_modified=result.last_modified)
    floor = max(filter(None, (result.max_age, row.ttl)), default=None)
    row.next_poll_at = now + timedelta(seconds=success_delay(
        _interval(rt, row), min_interval=polling.min_interval, max_interval=polling.max_interval, floor=floor,
        rng=rt.rng))
    row.last_polled_at = row.last_success_at = now
    _assign(row, consecutive_failures=0, last_error=None, last_error_kind=None)
    _assign(row, health=health.assess(health_state(row), now, health_rules(rt)))
    cluster.release(row)
    return moved


def _move(row: FeedRow, target: str | None) -> bool:
    """A permanent redirect re-points the feed: at once within its host (http to https, a new path); to another
    host only when the next poll sees the same redirect again, so that one forged or passing 301 cannot take the
    feed elsewhere for good (issue 16). The first sighting is kept in `pending_url`. True when the feed moved."""
    if target is None or target == row.url:
        _assign(row, pending_url=None)  # the publisher no longer redirects: nothing to confirm
        return False
    if urlsplit(target).hostname != urlsplit(row.url).hostname and target != row.pending_url:
        log.info("feed_move_seen", feed=row.name, url=row.url, new=target,
                 hint="permanent redirect to another host: the feed moves if the next poll sees it again")
        _assign(row, pending_url=target)
        return False
    log.info("feed_moved", feed=row.name, old=row.url, new=target,
             hint="permanent redirect: update feeds.yaml when convenient")
    row.url = target
    _assign(row, pending_url=None)
    return True


def _assign(row: FeedRow, **values: Any) -> None:
    """Set only what changed: a SQLModel attribute set costs about 6 us (validation, change tracking), and most
    of a healthy feed's bookkeeping writes back the value it already has."""
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)


def record_unchanged(rt: Runtime, polls: Sequence[tuple[FeedRow, FetchResult]]) -> list[FeedRow | Exception]:
    """304s, or the same bytes as last time: poll bookkeeping only, no parsing and no item rows; the feeds that
    came while the writer was busy share one transaction (monitor.store.groupcommit)."""
    now = rt.clock()
    moved = {feed.id for feed, result in polls if _succeeded(rt, feed, result, now) and feed.id is not None}
    with session(rt.engine) as s:
        missing = repo.record_polls(s, [feed for feed, _ in polls], moved)
        s.commit()
    return [_gone(feed) if feed.id in missing else feed for feed, _ in polls]


def _gone(feed: FeedRow) -> LookupError:
    return LookupError(f"feed {feed.name!r} (id {feed.id}) is no longer in the database")


def record_success(rt: Runtime, feed: FeedRow, result: FetchResult, parsed: ParsedFeed,
                    scores: dict[str, list[Score]],
                    fingerprints: Mapping[str, Fingerprint] | None = None,
                    set_aside: Mapping[str, str] | None = None,
                    articles: Mapping[str, tuple[str | None, str]] | None = None) -> tuple[int, int, FeedRow]:
    """One transaction: new items, their scores, their stories, their alerts and the feed's bookkeeping, or none
    of them. `scores` holds the scores of the items that were not known; an item without one is not new.
    `articles`: uid -> (main text, status) of the candidates whose article was read or tried (issue 18).

    `feed` is the row claimed for this poll, and the bookkeeping is written from it (repo.record_polls): under
    the lease only this poll changes those columns, and loading the row again cost more than writing it."""
    now = rt.clock()
    assert feed.id is not None
    with session(rt.engine) as s:
        if not repo.touch_feed(s, feed.id, now):
            raise _gone(feed)
        new = repo.insert_new_items(s, feed.id, [i for i in parsed.items if i.uid in scores], now, articles)
        alerts = file_and_alert(rt.config, scores, rt.story_cache, s, feed, new, now, fingerprints)
        if new or feed.last_new_item_at is None:  # silence is counted from the first poll that worked
            feed.last_new_item_at = now
        if (gap := publishing_gap(parsed.dates, now)) is not None:
            _assign(feed, cadence=gap)
        _assign(feed, ttl=parsed.ttl_seconds, content_hash=result.digest)
        moved = _succeeded(rt, feed, result, now)
        if not parsed.items:  # well-formed and empty: not a failure, but an operator should see it
            feed.last_error_kind = "empty"
            feed.last_error = f"no entries in a well-formed {parsed.version} document"
        if set_aside:  # stored unscored, never alerted: the operator must see which and why
            feed.last_error_kind = "set_aside"
            feed.last_error = _set_aside_message(parsed, set_aside)
        repo.record_polls(s, [feed], {feed.id} if moved else ())
        s.commit()
        return len(new), alerts, feed


def _set_aside_message(parsed: ParsedFeed, set_aside: Mapping[str, str]) -> str:
    titles = {i.uid: i.title for i in parsed.items}
    listed = "; ".join(f"{titles.get(uid, uid)[:80]!r}: {why}" for uid, why in list(set_aside.items())[:3])
    more = f" (and {len(set_aside) - 3} more)" if len(set_aside) > 3 else ""
    return f"{len(set_aside)} item(s) stored unscored, set aside: {listed}{more}"


def record_failure(rt: Runtime, feed: FeedRow, error: FetchError) -> FeedRow:
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
        row.health = health.assess(health_state(row), now, health_rules(rt))
        cluster.release(row)
        s.add(row)
        s.commit()
        return row
