"""The long-running process: startup, one cycle or the scheduler loop, clean shutdown on SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import structlog

from monitor import service
from monitor.config import Config
from monitor.scheduler import Jobs, build_scheduler
from monitor.service import Runtime
from monitor.store.db import make_engine
from monitor.store.migrate import ensure_schema

log = structlog.get_logger("monitor.daemon")

SHUTDOWN_GRACE = 20.0


def open_runtime(config: Config, *, base_dir: Path | None = None) -> Runtime:
    engine = make_engine(config.database_url, base_dir=base_dir)
    ensure_schema(engine)
    rt = Runtime.build(config, engine)
    service.sync_feeds(rt)
    return rt


async def run_once(config: Config) -> service.DeliveryStats:
    """One full cycle: poll every due feed, score, and deliver what is pending."""
    rt = open_runtime(config)
    try:
        outcomes = await service.poll_due(rt)
        stats = await service.deliver_pending(rt)
        service.retire(rt)
        log.info("cycle_done", feeds=len(outcomes), new_items=sum(o.new_items for o in outcomes),
                 alerts=sum(o.alerts for o in outcomes), failed_feeds=sum(o.status == "failed" for o in outcomes),
                 delivered=stats.delivered, delivery_failed=stats.failed, delivery_retrying=stats.retrying)
        return stats
    finally:
        await rt.fetcher.aclose()
        rt.engine.dispose()


async def run_forever(config: Config) -> None:
    rt = open_runtime(config)
    jobs = Jobs(lambda: rt)
    settings = config.settings
    scheduler = build_scheduler(jobs, tick=settings.polling.tick, delivery_interval=settings.delivery.interval)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    scheduler.start()
    log.info("daemon_started", feeds=len(config.feeds), watchlists=[w.name for w in config.watchlists],
             database=_safe_url(config.database_url))
    try:
        await stop.wait()
    finally:
        log.info("daemon_stopping", in_flight=len(jobs.in_flight))
        scheduler.shutdown(wait=False)
        drained = await jobs.drain(SHUTDOWN_GRACE)
        service.retire(rt)
        await rt.fetcher.aclose()
        rt.engine.dispose()
        log.info("daemon_stopped", drained=drained)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
