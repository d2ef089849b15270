"""APScheduler jobs: poll due feeds (schedule lives in the database), drain the outbox, story sweeps and trend
alerts, retention."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.config import Config
from monitor.store.tables import FeedRow
from monitor.usecases import deliver, feed_health, poll, retention, story_alerts, trends, workers
from monitor.usecases.channel_policy import digest_triggers
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.runtime.scheduler")
T = TypeVar("T")
HEARTBEAT = 10.0
STORIES = trends.PERIOD.total_seconds()  # story sweep (expiry, de-escalation) and trend evaluation
RETENTION = 3600.0  # looks hourly; prunes once per day per cluster
HEALTH = 300.0  # feed-health notices a poll could not retell (monitor.usecases.feed_health)


class Jobs:
    """Periodic work. `runtime()` is read on every tick so a reload takes effect without rescheduling."""

    def __init__(self, runtime: Callable[[], Runtime],
                 on_poll: Callable[[poll.PollOutcome], None] | None = None) -> None:
        self.runtime = runtime
        self.on_poll = on_poll  # metrics hook, so the use cases stay free of them
        self.stopping = False  # set at shutdown: ticks already running start no new work
        self.in_flight: dict[int, asyncio.Task[poll.PollOutcome]] = {}
        self.delivering: asyncio.Task[deliver.DeliveryStats] | None = None
        self.deliver_again = False
        self.last_cycle_at: float | None = None

    async def poll_tick(self) -> None:
        """Start a refresh for each due feed that is not already being refreshed; do not wait for them."""
        rt = self.runtime()
        # Claim only what this worker can start now: leases hoarded beyond that would keep other
        # workers idle (and could expire before we get to them).
        capacity = rt.config.settings.polling.concurrency * 2 - len(self.in_flight)
        if capacity <= 0:
            return
        due = await self._guarded("poll_tick_failed", asyncio.to_thread(poll.claim_due, rt, capacity))
        for feed in due or ():
            if self.stopping:
                break
            if feed.id is None or feed.id in self.in_flight:
                continue
            task = asyncio.create_task(self._refresh(rt, feed), name=f"refresh:{feed.name}")
            self.in_flight[feed.id] = task
            task.add_done_callback(functools.partial(self._done, feed.id))
        self.last_cycle_at = asyncio.get_running_loop().time()

    def _done(self, feed_id: int, _task: object) -> None:
        self.in_flight.pop(feed_id, None)

    async def _refresh(self, rt: Runtime, feed: FeedRow) -> poll.PollOutcome:
        outcome = await poll.refresh_feed_guarded(rt, feed)  # one broken feed never stops the others
        if self.on_poll:
            self.on_poll(outcome)
        if outcome.alerts and not self.stopping:  # a new alert goes out now, not at the next delivery tick
            await self.deliver_tick()
        return outcome

    async def heartbeat_tick(self) -> None:
        await self._guarded("heartbeat_failed", asyncio.to_thread(workers.heartbeat, self.runtime()))

    async def stories_tick(self) -> None:
        """Close stories that left the window, de-escalation notices, trend alerts; deliver what they wrote."""
        rt = self.runtime()
        now = rt.clock()
        written = await self._guarded("stories_tick_failed", asyncio.to_thread(
            story_alerts.sweep, rt.engine, rt.config, rt.story_cache, now))
        if written is not None:
            written += await self._guarded("trends_tick_failed", asyncio.to_thread(
                trends.run_trends, rt.engine, rt.config, rt.worker, now)) or 0
        if written and not self.stopping:
            await self.deliver_tick()

    async def health_tick(self) -> None:
        if not self.stopping:
            await self._guarded("health_tick_failed", feed_health.retell_health(self.runtime()))

    async def retention_tick(self) -> None:
        rt = self.runtime()
        await self._guarded("retention_tick_failed", asyncio.to_thread(
            retention.run_retention, rt.engine, rt.config.settings.retention, rt.worker, rt.clock()))

    async def _guarded(self, failure: str, work: Awaitable[T]) -> T | None:
        """Run one tick's work: an exception is logged as `failure` and the tick ends (the job runs again at its
        next interval); a cancellation at shutdown ends the tick quietly, any other propagates."""
        try:
            return await work
        except asyncio.CancelledError:
            if not self.stopping:
                raise
        except Exception:
            log.exception(failure)
        return None

    async def deliver_tick(self) -> None:
        if self.stopping:
            return
        if self.delivering and not self.delivering.done():
            self.deliver_again = True  # what was queued meanwhile goes right after the running pass
            return
        self.deliver_again = False
        self.delivering = asyncio.create_task(deliver.deliver_pending(self.runtime()))
        try:
            await asyncio.shield(self.delivering)
        except asyncio.CancelledError:
            if not self.stopping:
                raise
            # Shutdown cancels running ticks; the shielded delivery itself is drained by the daemon.
        except Exception:
            log.exception("delivery_tick_failed")
        if self.deliver_again:
            await self.deliver_tick()

    async def drain(self, grace: float) -> bool:
        """Wait for in-flight refreshes and deliveries; True if all finished within `grace` seconds."""
        pending: list[asyncio.Task[Any]] = [*self.in_flight.values()]
        if self.delivering and not self.delivering.done():
            pending.append(self.delivering)
        if not pending:
            return True
        _done, still = await asyncio.wait(pending, timeout=grace)
        for task in still:
            task.cancel()
        return not still


def build_scheduler(jobs: Jobs, *, tick: float, delivery_interval: float) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30},
                                 timezone="UTC")
    scheduler.add_job(jobs.poll_tick, "interval", seconds=tick, id="poll", next_run_time=_soon())
    scheduler.add_job(jobs.deliver_tick, "interval", seconds=delivery_interval, id="deliver", next_run_time=_soon())
    scheduler.add_job(jobs.heartbeat_tick, "interval", seconds=HEARTBEAT, id="heartbeat", next_run_time=_soon())
    scheduler.add_job(jobs.stories_tick, "interval", seconds=STORIES, id="stories")
    scheduler.add_job(jobs.health_tick, "interval", seconds=HEALTH, id="health")
    scheduler.add_job(jobs.retention_tick, "interval", seconds=RETENTION, id="retention", next_run_time=_soon())
    schedule_digests(scheduler, jobs.deliver_tick, jobs.runtime().config)
    return scheduler


def schedule_digests(scheduler: AsyncIOScheduler, deliver: Callable[[], Awaitable[None]], config: Config) -> None:
    """One `digest:<channel>` job per channel with a digest cron, and none for any other channel: held deliveries
    fall due at the cron time (delivery computes it from the same trigger), and this job runs a delivery pass
    right then instead of at the next tick. Called at start and after every reload, so a digest added, changed
    or removed in channels.yaml takes effect without a restart."""
    wanted = {f"digest:{channel}": trigger for channel, trigger in digest_triggers(config).items()}
    before = {job.id: str(job.trigger) for job in scheduler.get_jobs() if job.id.startswith("digest:")}
    for job_id in before.keys() - wanted.keys():
        scheduler.remove_job(job_id)
    for job_id, trigger in wanted.items():
        scheduler.add_job(deliver, trigger, id=job_id, replace_existing=True)
    if before != {job_id: str(trigger) for job_id, trigger in wanted.items()}:
        log.info("digests_scheduled", channels={job_id.removeprefix("digest:"): str(trigger)
                                                for job_id, trigger in wanted.items()})


def _soon() -> datetime:
    return datetime.now(UTC)
