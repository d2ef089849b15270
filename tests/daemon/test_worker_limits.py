"""Nothing a feed sends holds a parse worker: item and document time limits, the item cap, workers that die
with the daemon (issue 16, rows 1 and 4)."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.domain import Keyword, Severity, Watchlist
from monitor.errors import ParseError
from monitor.feeds import pool as pool_module
from monitor.feeds.pool import CpuPool, Ingested, WorkLimits
from tests.conftest import run_monitor
from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, GrowingFeed, daemon_settings, wait_until, watchlist
from tests.support.servers import HttpServer, Response

StartDaemon = Callable[..., Daemon]

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
WATCHLIST = Watchlist(name="w", keywords=(Keyword("alpha", 3.0),), severities=((Severity.WATCH, 1.0),))


def _rss(count: int, *, oldest_first: bool = False, body: str = "") -> bytes:
    order = range(count - 1, -1, -1) if oldest_first else range(count)
    items = "".join(
        f"<item><title>Alpha report {i}</title><guid isPermaLink=\"false\">g{i}</guid>"
        f"<description>{body}</description>"
        f"<pubDate>{(NOW - timedelta(minutes=i)).strftime('%a, %d %b %Y %H:%M:%S +0000')}</pubDate></item>"
        for i in order)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


# An item that takes a millisecond or more to score (its summary at the parser's 4,000-character cap): the worker
# looks at the item clock every millisecond at most, so with a limit of a microsecond such items are set aside.
LONG = "Alpha forces report on the talks and the border. " * 100


def _ingest(pool: CpuPool, document: bytes) -> Ingested:
    async def go() -> Ingested:
        try:
            return await pool.ingest(document, known=frozenset(), feed="f", url="http://127.0.0.1/f", now=NOW)
        finally:
            pool.close()
    return asyncio.run(go())


def test_a_document_gives_at_most_max_items_the_newest() -> None:
    # the document lists its oldest entries first: the cut keeps the newest by date, not the first written
    ingested = _ingest(CpuPool(0, [WATCHLIST], WorkLimits(max_items=5)), _rss(35, oldest_first=True))
    assert ingested.cut == 30
    assert [i.uid for i in ingested.parsed.items] == [f"g{i}" for i in range(5)]
    assert sorted(ingested.scores) == [f"g{i}" for i in range(5)]
    assert _ingest(CpuPool(0, [WATCHLIST]), _rss(500)).cut == 0  # the default cap is 500
    assert _ingest(CpuPool(0, [WATCHLIST]), _rss(501)).cut == 1


def test_an_item_past_its_time_limit_is_set_aside_unscored_and_the_rest_go_on() -> None:
    ingested = _ingest(CpuPool(1, [WATCHLIST], WorkLimits(item_seconds=1e-6)), _rss(20, body=LONG))
    assert set(ingested.scores) == {f"g{i}" for i in range(20)}  # every item kept, none lost
    assert ingested.set_aside, "a limit far below an item's scoring time sets items aside"
    for uid, why in ingested.set_aside.items():
        assert ingested.scores[uid] == [] and why == "scoring took longer than 1e-06 s"
    normal = _ingest(CpuPool(1, [WATCHLIST]), _rss(20, body=LONG))  # the default limit, 2 s: nothing set aside
    assert normal.set_aside == {} and all(normal.scores.values())


def test_a_document_past_its_time_limit_gets_the_workers_replaced_and_the_next_one_is_read() -> None:
    big = _rss(20_000)  # seconds of parsing: far past a 50 ms limit

    async def go() -> tuple[str, set[int], Ingested, set[int]]:
        pool = CpuPool(1, [WATCHLIST], WorkLimits(document_seconds=0.05, max_items=10))
        try:
            await pool.start()
            before = set(getattr(pool._executor, "_processes", {}))
            with pytest.raises(ParseError) as caught:
                await pool.ingest(big, known=frozenset(), feed="f", url="http://127.0.0.1/f", now=NOW)
            pool.limits = WorkLimits()
            after = await pool.ingest(_rss(2), known=frozenset(), feed="f", url="http://127.0.0.1/f", now=NOW)
            now_running = set(getattr(pool._executor, "_processes", {}))
            return str(caught.value), before, after, now_running - before
        finally:
            pool.close()
    message, before, after, fresh = asyncio.run(go())
    assert "longer than 0.05 s" in message and "replaced" in message
    wait_until(lambda: not any(_alive(pid) for pid in before), timeout=10, message="the stuck worker killed")
    assert set(after.scores) == {"g0", "g1"} and fresh  # a new worker read the next document


def test_documents_past_their_time_limit_together_each_fail_alone_and_the_pool_goes_on() -> None:
    """Feeds are parsed concurrently: when several are past the limit at once, the first timeout has already shut the
    pool down when the others come to stop it. Each must fail with its ParseError, not take the round down."""
    big = _rss(20_000)

    async def go() -> tuple[list[BaseException | Ingested], Ingested]:
        pool = CpuPool(2, [WATCHLIST], WorkLimits(document_seconds=0.05, max_items=10))
        try:
            await pool.start()
            results = await asyncio.gather(*(pool.ingest(big, known=frozenset(), feed=f"f{i}",
                                                         url=f"http://127.0.0.1/f{i}", now=NOW) for i in range(4)),
                                           return_exceptions=True)
            pool.limits = WorkLimits()
            after = await pool.ingest(_rss(2), known=frozenset(), feed="f", url="http://127.0.0.1/f", now=NOW)
            return results, after
        finally:
            pool.close()
    results, after = asyncio.run(go())
    assert [type(r) for r in results] == [ParseError] * 4, results
    assert set(after.scores) == {"g0", "g1"}


def test_a_job_whose_caller_gave_up_still_runs_rather_than_be_cancelled_in_the_pool(tmp_path: Path) -> None:
    """Its future is never cancelled from outside the pool (see the next test for why): the job runs, its result
    unread, and the caller sees its own cancellation."""
    async def go() -> tuple[list[BaseException | None], list[bool]]:
        pool = CpuPool(1, [WATCHLIST], WorkLimits(document_seconds=10.0))
        try:
            await pool.start()
            busy = asyncio.create_task(pool.run(time.sleep, 0.5))
            await asyncio.sleep(0.1)
            marks = [tmp_path / f"mark{i}" for i in range(4)]
            given_up = [asyncio.create_task(pool.run(Path.touch, mark)) for mark in marks]  # waiting behind `busy`
            await asyncio.sleep(0.1)
            for task in given_up:
                task.cancel()
            outcomes = await asyncio.gather(*given_up, return_exceptions=True)
            await busy
            await pool.run(time.sleep, 0)  # one worker, jobs in order: the marks' jobs have run by now
            return [o if isinstance(o, BaseException) else None for o in outcomes], [m.exists() for m in marks]
        finally:
            pool.close()
    outcomes, ran = asyncio.run(go())
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes
    assert ran == [True] * 4


# On Python 3.11 a pool that breaks while a waiting job's future was cancelled from outside raises InvalidStateError in
# its manager thread, which then leaves its queue's pipe open: the queue's thread blocks on it and the process cannot
# exit (a `.ci/run` leg hung so). pytest reports the thread's exception as this warning; here it fails the test.
@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_jobs_whose_callers_gave_up_do_not_keep_a_killed_pool_from_cleaning_up() -> None:
    """Callers of waiting jobs give up (an article past its budget, a shutdown), then the stuck job that held the
    worker passes its time limit and the pool is killed: the pool's manager thread fails the waiting jobs and closes
    its queues, and a fresh pool reads the next document."""
    async def go() -> tuple[BaseException | None, list[BaseException | None], Ingested, bool]:
        pool = CpuPool(1, [WATCHLIST], WorkLimits(document_seconds=1.0, max_items=10))
        try:
            await pool.start()
            stuck = asyncio.create_task(pool.run(time.sleep, 60))
            await asyncio.sleep(0.2)
            executor = pool._executor
            given_up = [asyncio.create_task(pool.run(time.sleep, 0)) for _ in range(4)]  # queued behind the stuck one
            await asyncio.sleep(0.2)
            for task in given_up:
                task.cancel()
            outcomes = await asyncio.gather(*given_up, return_exceptions=True)
            failure = (await asyncio.gather(stuck, return_exceptions=True))[0]
            manager = getattr(executor, "_executor_manager_thread", None)
            if manager is not None:
                await asyncio.to_thread(manager.join, 10)
            cleaned = manager is None or not manager.is_alive()
            after = await pool.ingest(_rss(2), known=frozenset(), feed="f", url="http://127.0.0.1/f", now=NOW)
            return failure, [o if isinstance(o, BaseException) else None for o in outcomes], after, cleaned
        finally:
            pool.close()
    failure, outcomes, after, cleaned = asyncio.run(go())
    assert isinstance(failure, ParseError) and "longer than 1 s" in str(failure)
    assert all(isinstance(o, asyncio.CancelledError) for o in outcomes), outcomes  # the callers see their own cancel
    assert cleaned, "the killed pool's manager thread is still running"
    assert set(after.scores) == {"g0", "g1"}


def test_jobs_beside_a_stuck_one_run_again_on_the_fresh_pool_and_their_feeds_do_not_fail() -> None:
    """One worker stuck on a job past the time limit is stopped with every worker of its pool: the documents that
    were waiting behind it (some already handed to the pool's queue, some not) are read by the fresh pool, not failed
    as if their own feed were at fault."""
    async def go() -> tuple[BaseException | None, list[BaseException | Ingested]]:
        pool = CpuPool(1, [WATCHLIST], WorkLimits(document_seconds=5.0, max_items=10))
        try:
            await pool.start()
            stuck = asyncio.create_task(pool.run(time.sleep, 60))
            await asyncio.sleep(0.2)
            waiting = await asyncio.gather(*(pool.ingest(_rss(2), known=frozenset(), feed=f"f{i}",
                                                         url=f"http://127.0.0.1/f{i}", now=NOW) for i in range(5)),
                                           return_exceptions=True)
            return (await asyncio.gather(stuck, return_exceptions=True))[0], waiting
        finally:
            pool.close()
    stuck, waiting = asyncio.run(go())
    assert isinstance(stuck, ParseError) and "longer than 5 s" in str(stuck)
    assert all(isinstance(w, Ingested) and set(w.scores) == {"g0", "g1"} for w in waiting), waiting


def _loaded(module: str) -> bool:
    return module in sys.modules


def test_workers_load_the_article_extractor_as_they_start_only_when_some_feed_reads_articles() -> None:
    async def go() -> dict[bool, bool]:
        loaded = {}
        for articles in (False, True):
            pool = CpuPool(1, [WATCHLIST], articles=articles)
            try:
                await pool.start()
                loaded[articles] = await pool.run(_loaded, "trafilatura")
            finally:
                pool.close()
        return loaded
    assert asyncio.run(go()) == {False: False, True: True}


def test_a_long_job_shows_as_stuck_until_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pool_module, "STUCK_AFTER", 0.0)

    async def go() -> tuple[float, float]:
        pool = CpuPool(1, [WATCHLIST], WorkLimits(max_items=10))
        try:
            await pool.start()
            job = asyncio.create_task(pool.ingest(_rss(20_000), known=frozenset(), feed="f",
                                                  url="http://127.0.0.1/f", now=NOW))
            await asyncio.sleep(0.2)
            during = pool.stuck_for()
            await job
            return during, pool.stuck_for()
        finally:
            pool.close()
    during, after = asyncio.run(go())
    assert during > 0 and after == 0


def test_close_kills_a_worker_still_busy_after_the_timeout() -> None:
    async def go() -> list[int]:
        pool = CpuPool(1, [WATCHLIST], WorkLimits(max_items=10))
        await pool.start()
        pids = list(getattr(pool._executor, "_processes", {}))
        job = asyncio.create_task(pool.ingest(_rss(40_000), known=frozenset(), feed="f",
                                              url="http://127.0.0.1/f", now=NOW))
        await asyncio.sleep(0.2)
        await asyncio.to_thread(pool.close, 0.1)
        await asyncio.gather(job, return_exceptions=True)
        return pids
    assert not any(_alive(pid) for pid in asyncio.run(go()))  # close() joined them after the kill


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.slow
def test_workers_do_not_outlive_a_sigkilled_daemon(tmp_path: Path, feed_server: HttpServer,
                                                   start_daemon: StartDaemon) -> None:
    feed = GrowingFeed("Feed")
    feed.add("Alpha report one")
    feed_server.routes["/f.xml"] = feed
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/f.xml"), "name": "Feed"}],
                          watchlists={"test": watchlist("alpha")},
                          settings=daemon_settings(polling={"tick": "0.5s", "min_interval": "0.5s", "interval": "1s",
                                                            "timeout": "5s", "parse_workers": 2}))
    daemon: Daemon = start_daemon(config)
    daemon.wait_for("feed_refreshed")
    workers = _children(daemon.proc.pid)
    assert len(workers) >= 2
    daemon.proc.send_signal(signal.SIGKILL)
    daemon.proc.wait(timeout=10)
    wait_until(lambda: not any(_alive(pid) for pid in workers), timeout=10,
               message="parse workers exit with the daemon")


@pytest.mark.slow
def test_items_set_aside_are_stored_and_shown_on_the_feed(tmp_path: Path, feed_server: HttpServer,
                                                          start_daemon: StartDaemon) -> None:
    feed_server.routes["/f.xml"] = Response(200, _rss(20, body=LONG), {"Content-Type": "application/rss+xml"})
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/f.xml"), "name": "Feed"}],
                          watchlists={"test": watchlist("alpha")},
                          settings=daemon_settings(polling={"tick": "0.5s", "min_interval": "0.5s", "interval": "1s",
                                                            "timeout": "5s", "parse_workers": 1,
                                                            "item_time_limit": 1e-6}))
    daemon: Daemon = start_daemon(config)
    aside = daemon.wait_for("items_set_aside")["items"]
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(timeout=30) == 0
    with sqlite3.connect(config / "monitor.db") as db:
        assert db.execute("select count(*) from items").fetchone()[0] == 20  # stored, not lost
        unscored = db.execute("select count(*) from items where id not in (select item_id from scores)").fetchone()
        kind, error = db.execute("select last_error_kind, last_error from feeds").fetchone()
    assert unscored[0] >= len(aside)
    assert kind == "set_aside" and "Alpha report" in error and "scoring took longer" in error
    shown = run_monitor("feeds", "--config", str(config))
    assert "set aside" in shown.stdout, shown.stdout + shown.stderr
