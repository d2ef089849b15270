"""One cycle of the service, and the runtime every process opens: `monitor run --once` (poll every due feed,
score, deliver, exit), the daemon's start (monitor.runtime.daemon) and the commands that need the database.

Kept apart from the daemon so that `run --once` imports neither the console nor the scheduler, the metrics or
the reloader (issue 16, row 4: a round of 1,000 unchanged feeds against rss2email's).
"""

from __future__ import annotations

import gc
from pathlib import Path

import structlog

from monitor.config import Config
from monitor.errors import ParseError
from monitor.store.db import make_engine
from monitor.store.migrate import ensure_schema
from monitor.usecases import deliver, poll, workers
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.runtime.cycle")

# Young-generation threshold of the cyclic garbage collector (CPython's default is 700). The story index keeps
# hundreds of thousands of long-lived objects, and at the default a round that filed 50,000 items ran eleven full
# collections over all of them: 1.7 s of a 14 s round with the GIL held. Reference counting frees almost
# everything; the collector only looks for cycles, and 50,000 allocations between passes bound what it lets wait.
GC_YOUNG = 50_000


def open_runtime(config: Config, *, base_dir: Path | None = None, preload: bool = False) -> Runtime:
    """The runtime on its database. The story index (once per process; a reload keeps it) loads on a thread with
    `preload` (the daemon), else at the first new item (a `run --once` of unchanged feeds never needs it)."""
    engine = make_engine(config.database_url, base_dir=base_dir)
    ensure_schema(engine)
    rt = Runtime.build(config, engine)
    poll.sync_feeds(rt)
    if preload:
        rt.story_cache.preload(engine, rt.clock(), config.settings.stories.window)
    return rt


async def start_workers(rt: Runtime) -> None:
    """The parse workers, all started at once beside the daemon's first poll rather than one per job by the first
    busy round; a pool that fails to start is only logged: the first job tries again, and a feed it fails is a
    parse error like any other."""
    if rt.cpu is None:
        return
    try:
        await rt.cpu.start()
    except ParseError as exc:
        log.warning("parse_workers_not_started", error=str(exc))


def tune_gc() -> None:
    """For the process that owns the daemon (not tests: the setting is the process's). Nothing is frozen
    (gc.freeze): a runtime replaced on reload holds reference cycles, and frozen it would never be freed."""
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


async def run_once(config: Config) -> deliver.DeliveryStats:
    """One full cycle: poll every due feed, score, and deliver what is pending."""
    tune_gc()
    rt = open_runtime(config)
    # No workers started ahead: the pool starts one when a changed feed needs it, so a round of 304s starts none
    # (issue 16, row 4: run --once on unchanged feeds).
    try:
        outcomes = await poll.poll_due(rt)
        stats = await deliver.deliver_pending(rt)
        workers.retire(rt)
        log.info("cycle_done", feeds=len(outcomes), new_items=sum(o.new_items for o in outcomes),
                 alerts=sum(o.alerts for o in outcomes), failed_feeds=sum(o.status == "failed" for o in outcomes),
                 delivered=stats.delivered, delivery_failed=stats.failed, delivery_retrying=stats.retrying)
        return stats
    finally:
        if rt.cpu is not None:
            rt.cpu.close()
        await rt.fetcher.aclose()
        rt.engine.dispose()
