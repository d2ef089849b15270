"""Feed health: one notice to the ops channel per change of a feed's state (monitor.core.health decides the
state). A poll tells its own feed's change; the sweep (every 5 minutes) retells what no poll will."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog

from alerts.render import Rendered
from monitor.core import health
from monitor.store import cluster
from monitor.store.db import session
from monitor.store.tables import FeedRow
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.usecases.feed_health")
HEALTH_RETELL = 600.0  # the health sweep leaves a feed polled this recently (seconds) to its own poll's retelling



def health_rules(rt: Runtime) -> health.HealthRules:
    settings = rt.config.settings.polling.health
    return health.HealthRules(settings.failures, settings.silence_factor, settings.min_silence)


def health_state(row: FeedRow) -> health.FeedState:
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
            await tell_health(rt, row)
    finally:
        if claimed:
            await _on_writer(rt, _release, rt, [row.id for row in claimed if row.id is not None])
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


async def tell_health(rt: Runtime, row: FeedRow) -> None:
    """Tell the ops channel when the feed's health changed since it last heard; when sending fails, the row
    keeps the difference and the next poll (or the health sweep) tries again."""
    if row.health == row.health_notified:
        return
    state, previous = row.health, row.health_notified
    log.warning("feed_health_changed", feed=row.name, state=state, previous=previous, error=row.last_error)
    channel = rt.config.settings.polling.health.ops_channel
    if channel:
        notice = health.notice(health_state(row), state, previous, rt.clock())
        page = f"<pre>{html.escape(notice.text)}</pre>"
        outcome = await rt.sender.send(channel, Rendered(notice.subject, notice.text, page))
        if not outcome.ok:
            log.warning("feed_health_notice_failed", feed=row.name, channel=channel, error=outcome.error)
            return
        log.info("feed_health_notice_sent", feed=row.name, channel=channel, state=state)
    await _on_writer(rt, _record_notified, rt, row, state)


def _record_notified(rt: Runtime, row: FeedRow, state: str) -> None:
    with session(rt.engine) as s:
        stored = s.get(FeedRow, row.id)
        assert stored is not None
        stored.health_notified = state
        s.add(stored)
        s.commit()




async def _on_writer(rt: Runtime, fn: Callable[..., None], *args: Any) -> None:
    await asyncio.get_running_loop().run_in_executor(rt.writer, fn, *args)
