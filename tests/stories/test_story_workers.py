"""Several workers on one database file a story arriving through feeds that different workers poll in one story,
and alert once: each catches up with what the others filed before it files (SQLite file, or PostgreSQL with
MONITOR_TEST_DB=postgresql, two runtimes in one process standing for two daemons)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import Session

from monitor.store.tables import FeedRow
from monitor.usecases import poll, workers
from monitor.usecases.story_cache import CATCH_UP
from tests.alerts.helpers import Setup
from tests.stories.helpers import many_feeds, webhook_channel
from tests.support.db import query
from tests.support.servers import HttpServer, WebhookReceiver

WIRE = [("wire-1", "NATO war games begin on the eastern flank as allies mass troops",
         "http://wire.invalid/nato-war-games")]


def _only_due(worker: Setup, feed: str) -> None:
    later = worker.clock() + timedelta(days=1)
    with worker.rt.engine.begin() as c:
        c.execute(text("update feeds set next_poll_at = case when name = :feed then null else :later end"),
                  {"feed": feed, "later": later})


def _two_workers(a: Setup, *, peers: bool = True) -> Setup:
    """A second daemon on `a`'s database; both start (each loads its index), and with `peers` both heartbeat, and
    so see each other."""
    b = Setup(a.config_dir, clock=a.clock)
    for worker in (a, b):
        worker.rt.story_cache.load(worker.rt.engine, a.clock(), 48 * 3600.0)
    if peers:
        for worker in (a, b, a):
            workers.heartbeat(worker.rt)
    return b


@pytest.mark.parametrize("peers", [True, False])
def test_a_story_polled_by_two_workers_is_one_story_with_one_alert(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str, peers: bool) -> None:
    a = many_feeds(tmp_path, feed_server, database_url, 2, WIRE, webhook_channel(webhook.port))
    b = _two_workers(a, peers=peers)
    try:
        assert a.rt.story_cache.peers is peers and b.rt.story_cache.peers is peers

        _only_due(a, "Outlet 0")
        assert [o.new_items for o in a.poll()] == [1]
        a.clock.advance(CATCH_UP.total_seconds() + 1)
        _only_due(b, "Outlet 1")
        assert [o.new_items for o in b.poll()] == [1]

        stories = query(database_url, "select count(distinct story_id) from items")
        kinds = [kind for (kind,) in query(database_url, "select kind from alerts order by id")]
        if peers:
            assert stories == [(1,)] and kinds == ["story_first"]
            (sources,) = query(database_url, "select sources from stories")
            assert "Outlet 1" in str(sources[0]) and "Outlet 0" in str(sources[0])
        else:  # what the catch-up prevents: the one story split between the workers, alerted by each
            assert stories == [(2,)] and kinds == ["story_first", "story_first"]
    finally:
        b.close()
        a.close()


def test_a_worker_catches_up_once_per_item_and_not_more_often_than_its_period(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    a = many_feeds(tmp_path, feed_server, database_url, 3, WIRE, webhook_channel(webhook.port))
    b = _two_workers(a)
    try:
        _only_due(a, "Outlet 0")
        a.poll()
        tracker = b.rt.story_cache
        [(item_id, story_id)] = query(database_url, "select id, story_id from items")
        with Session(b.rt.engine) as s:
            assert tracker.catch_up(s, a.clock()) == 0  # within CATCH_UP of noticing its peer: not yet
            a.clock.advance(CATCH_UP.total_seconds())
            assert tracker.catch_up(s, a.clock()) == 1 and tracker.index.story_of(str(item_id)) == story_id
            a.clock.advance(CATCH_UP.total_seconds())
            assert tracker.catch_up(s, a.clock()) == 0  # already filed: not again
    finally:
        b.close()
        a.close()


def test_copies_reaching_three_workers_at_once_make_one_story_and_one_first_alert(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    """Issue 16, row 12: twelve outlets carry one new story, three workers poll four each, all at the same moment."""
    a = many_feeds(tmp_path, feed_server, database_url, 12, WIRE, webhook_channel(webhook.port))
    b = _two_workers(a)
    c = Setup(a.config_dir, clock=a.clock)
    c.rt.story_cache.load(c.rt.engine, a.clock(), 48 * 3600.0)
    for worker in (a, b, c, a, b):
        workers.heartbeat(worker.rt)
    trio = (a, b, c)
    try:
        assert all(w.rt.story_cache.peers for w in trio)
        claimed = [poll.claim_due(w.rt, limit=4) for w in trio]
        assert sorted(len(feeds) for feeds in claimed) == [4, 4, 4]
        start = threading.Barrier(3)

        async def refresh_all(worker: Setup, feeds: list[FeedRow]) -> None:
            await asyncio.gather(*(poll.refresh_feed(worker.rt, f) for f in feeds))

        def refresh(worker: Setup, feeds: list[FeedRow]) -> None:
            asyncio.set_event_loop(worker.loop)
            start.wait()
            worker.loop.run_until_complete(refresh_all(worker, feeds))

        threads = [threading.Thread(target=refresh, args=pair) for pair in zip(trio, claimed, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert query(database_url, "select count(*) from items") == [(12,)]
        assert query(database_url, "select count(distinct story_id) from items") == [(1,)]
        kinds = [kind for (kind,) in query(database_url, "select kind from alerts order by id")]
        assert kinds.count("story_first") == 1 and kinds.count("story_update") <= 1, kinds
    finally:
        for worker in (c, b, a):
            worker.close()
