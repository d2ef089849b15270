"""The long-running process: startup, reload on file change or SIGHUP, health, clean shutdown on SIGTERM/SIGINT.

Lifecycle (after arq): start owns the shared clients; a signal stops new work, in-flight polls and
deliveries get `shutdown_grace` seconds to finish, then the clients close and the process exits 0.
Every database write is its own transaction, so whatever is cut at the deadline is either committed or
not there at all; a delivery sent but not yet recorded is sent again at the next start (at least once).
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import time
from collections.abc import Coroutine
from typing import Any

import structlog

from monitor.config import Config
from monitor.core.scoring import compiled
from monitor.feeds.fetch import Fetcher
from monitor.runtime import logging as logsetup
from monitor.runtime.cycle import open_runtime, start_workers, tune_gc
from monitor.runtime.hooks import instrument
from monitor.runtime.http import DaemonState
from monitor.runtime.metrics import Metrics
from monitor.runtime.reload import Reloader
from monitor.runtime.scheduler import Jobs, build_scheduler, schedule_digests
from monitor.runtime.webserver import WebServer
from monitor.usecases import deliver, poll, workers
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.runtime.daemon")

HEARTBEAT = 1.0  # seconds between event-loop heartbeats (what /healthz checks)
# Runtime fields that belong to the process, not to the configuration: a reload carries them over.
_PROCESS_FIELDS = ("clock", "rng", "worker", "story_cache")
async def run_forever(config: Config) -> None:
    tune_gc()
    await Daemon(config).run()


class Daemon:
    def __init__(self, config: Config) -> None:
        self.metrics = Metrics()
        self.rt = instrument(open_runtime(config, preload=True), self.metrics)  # the one reference a reload swaps
        self.jobs = Jobs(lambda: self.rt, on_poll=self.metrics.observe_poll)
        settings = config.settings
        self.scheduler = build_scheduler(self.jobs, tick=settings.polling.tick,
                                         delivery_interval=settings.delivery.interval)
        self.reloader = Reloader(config.directory, current=lambda: self.rt.config, apply=self.apply,
                                 metrics=self.metrics)
        self.state = DaemonState(runtime=lambda: self.rt, scheduler_running=lambda: bool(self.scheduler.running),
                                 last_cycle_at=lambda: self.jobs.last_cycle_at, metrics=self.metrics)
        self.metrics.watch_store(lambda: self.rt.engine)
        self._stop = asyncio.Event()
        self._tasks: set[asyncio.Task[object]] = set()  # background work, cancelled at shutdown
        self._retiring: set[asyncio.Task[object]] = set()  # closing replaced HTTP clients
        self._replaced: list[Fetcher] = []  # replaced HTTP clients not closed yet

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._on_stop_signal, sig)
        loop.add_signal_handler(signal.SIGHUP, self._on_hup)
        web = self._start_web()
        # Started beside the first poll, not before it: a round of 304s needs no worker, and a changed feed's
        # parse job waits only for the first worker that is ready (issue 16, row 4: time to the first poll).
        self._spawn(start_workers(self.rt))
        self.scheduler.start()
        self._spawn(self._beat())
        settings = self.rt.config.settings
        if settings.reload.watch:
            self.reloader.prime()
            self._spawn(self.reloader.watch(self._stop, debounce=settings.reload.debounce))
        config = self.rt.config
        log.info("daemon_started", feeds=len(config.feeds), watchlists=[w.name for w in config.watchlists],
                 database=_safe_url(config.database_url), http=f"{web.host}:{web.port}" if web else None,
                 watching=settings.reload.watch, scoring="compiled" if compiled() else "interpreted")
        try:
            await self._stop.wait()
        finally:
            await self._shutdown(web)

    def _start_web(self) -> WebServer | None:
        http = self.rt.config.settings.http
        if not http.enabled:
            return None
        web = WebServer(self.state, *http.address)
        web.start()
        return web

    def _spawn(self, coro: Coroutine[Any, Any, object], tasks: set[asyncio.Task[object]] | None = None) -> None:
        group = self._tasks if tasks is None else tasks
        task = asyncio.create_task(coro)
        group.add(task)
        task.add_done_callback(group.discard)

    async def _beat(self) -> None:
        while True:
            self.state.loop_beat_at = time.monotonic()
            await asyncio.sleep(HEARTBEAT)

    def _on_hup(self) -> None:
        if self._stop.is_set():  # a reload started now would outlive the shutdown's clean-up
            log.warning("reload_ignored", reason="shutting down")
            return
        log.info("signal_received", signal="SIGHUP")
        self._spawn(self.reloader.reload("sighup", force=True))

    def _on_stop_signal(self, sig: signal.Signals) -> None:
        if self._stop.is_set():
            log.warning("shutdown_in_progress", signal=sig.name)
            return
        log.info("signal_received", signal=sig.name)
        self._stop.set()

    # --- reload ---

    async def apply(self, config: Config) -> None:
        """Build a runtime for `config`, make the feed schedule follow it, then swap it in one assignment."""
        old = self.rt
        fresh = await asyncio.to_thread(Runtime.build, config, old.engine)  # reads templates: off the loop
        keep_fetcher = fresh.fetcher.limits == old.fetcher.limits
        carried = {name: getattr(old, name) for name in _PROCESS_FIELDS if hasattr(old, name)}
        new = dataclasses.replace(fresh, **carried, fetcher=old.fetcher if keep_fetcher else fresh.fetcher)
        try:
            await asyncio.to_thread(poll.sync_feeds, new)
        except BaseException:
            await fresh.fetcher.aclose()
            raise
        if keep_fetcher:
            await fresh.fetcher.aclose()
        self.rt = instrument(new, self.metrics)
        if old.cpu is not None and old.cpu is not new.cpu:
            old.cpu.retire()  # the new watchlists live in the new pool's processes
            self._spawn(start_workers(new))
        if not keep_fetcher:
            self._replaced.append(old.fetcher)
            self._spawn(self._retire(old.fetcher, asyncio.get_running_loop().time()), self._retiring)
        self._follow_settings(old.config, config)

    async def _retire(self, fetcher: Fetcher, swapped_at: float) -> None:
        """Close a replaced HTTP client once no poll can use it any more: a poll tick has ended since the
        swap (ticks never overlap, so one that read the old runtime is done starting polls), and every
        poll started by then has finished."""
        while (self.jobs.last_cycle_at or 0.0) <= swapped_at:
            await asyncio.sleep(0.1)
        if users := list(self.jobs.in_flight.values()):
            await asyncio.wait(users)
        self._replaced.remove(fetcher)
        await fetcher.aclose()

    def _follow_settings(self, old: Config, new: Config) -> None:
        before, after = old.settings, new.settings
        if after.polling.tick != before.polling.tick:
            self.scheduler.reschedule_job("poll", trigger="interval", seconds=after.polling.tick)
        if after.delivery.interval != before.delivery.interval:
            self.scheduler.reschedule_job("deliver", trigger="interval", seconds=after.delivery.interval)
        if after.log.level != before.log.level:
            logsetup.set_level(after.log.level)
        schedule_digests(self.scheduler, self.jobs.deliver_tick, new)

    # --- shutdown ---

    async def _shutdown(self, web: WebServer | None) -> None:
        loop = asyncio.get_running_loop()
        grace = self.rt.config.settings.shutdown_grace
        deadline = loop.time() + grace
        self.jobs.stopping = self.state.stopping = True  # /readyz turns 503 while we drain
        delivering = bool(self.jobs.delivering and not self.jobs.delivering.done())
        log.info("daemon_stopping", in_flight=len(self.jobs.in_flight), delivering=delivering, grace=grace)
        # Paused, not shut down, while draining: shutdown cancels running ticks, and a tick awaiting the
        # delivery batch would be reported by APScheduler as a crashed job.
        self.scheduler.pause()
        drained = await self.jobs.drain(grace)
        self.scheduler.shutdown(wait=False)
        if drained:  # alerts found by the last polls go out now rather than at the next start
            await self._final_delivery(deadline - loop.time())
        else:
            log.warning("shutdown_grace_expired", grace=grace)
        for task in [*self._tasks, *self._retiring]:
            task.cancel()
        await asyncio.gather(*self._tasks, *self._retiring, return_exceptions=True)
        if web:
            web.stop()
        for fetcher in [*self._replaced, self.rt.fetcher]:  # polls are over: no client is in use
            await fetcher.aclose()
        if self.rt.cpu is not None:  # a worker still busy when the grace ends is killed: exit stays on time
            await asyncio.to_thread(self.rt.cpu.close, max(0.5, deadline - loop.time()))
        try:
            await asyncio.to_thread(workers.retire, self.rt)  # leases back now, not when they expire
        except Exception:
            log.exception("retire_failed")
        self.rt.engine.dispose()
        log.info("daemon_stopped", drained=drained, seconds=round(grace - (deadline - loop.time()), 2))

    async def _final_delivery(self, remaining: float) -> None:
        if remaining <= 0:
            return
        task = asyncio.create_task(deliver.deliver_pending(self.rt))
        done, _ = await asyncio.wait({task}, timeout=remaining)
        if not done:
            task.cancel()
            log.warning("shutdown_delivery_cut", reason="grace period over; pending deliveries go at next start")
        elif task.exception() is None and (stats := task.result()).delivered + stats.failed + stats.retrying:
            log.info("shutdown_delivered", delivered=stats.delivered, failed=stats.failed, retrying=stats.retrying)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
