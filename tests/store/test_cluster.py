"""Work sharing between workers on one database: claims, leases, once-per-cluster runs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from monitor.domain import FeedSpec
from monitor.store import cluster, repo
from monitor.store.db import make_engine, session
from monitor.store.migrate import ensure_schema

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    ensure_schema(engine)
    with session(engine) as s:
        repo.sync_feeds(s, [FeedSpec(f"feed-{i:03}", f"http://127.0.0.1/{i}.xml", 600.0) for i in range(60)], NOW)
        s.commit()
    yield engine
    engine.dispose()


def _claim(engine: Engine, worker: str, now: datetime = NOW, limit: int = 200) -> list[str]:
    with session(engine) as s:
        claimed = [f.name for f in cluster.claim_due_feeds(s, worker, now, lease=60, limit=limit)]
        s.commit()
    return claimed


def _at_once(target: Callable[[str], None], workers: int) -> None:
    """Run target("w0"), target("w1"), ... in threads released together, and wait for them all."""
    barrier = threading.Barrier(workers)

    def released(name: str) -> None:
        barrier.wait()
        target(name)

    threads = [threading.Thread(target=released, args=(f"w{i}",)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def test_concurrent_workers_claim_disjoint_feeds(engine: Engine) -> None:
    results: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        mine: list[str] = []
        while batch := _claim(engine, name, limit=7):
            mine += batch
        results[name] = mine

    _at_once(worker, 4)
    claimed = [name for names in results.values() for name in names]
    assert sorted(claimed) == [f"feed-{i:03}" for i in range(60)]  # each exactly once


def test_a_dead_workers_lease_expires_and_is_taken_over(engine: Engine) -> None:
    assert len(_claim(engine, "dead")) == 60
    assert _claim(engine, "alive", NOW + timedelta(seconds=30)) == []
    taken = _claim(engine, "alive", NOW + timedelta(seconds=61))
    assert len(taken) == 60


def test_released_feeds_are_claimable_again_only_when_due(engine: Engine) -> None:
    with session(engine) as s:
        polled = []
        for feed in cluster.claim_due_feeds(s, "w", NOW, lease=60, limit=5):
            cluster.release(feed)
            feed.next_poll_at = NOW + timedelta(minutes=10)
            s.add(feed)
            polled.append(feed.name)
        s.commit()
    others = _claim(engine, "w2", NOW + timedelta(minutes=5))
    assert len(others) == 55 and not set(others) & set(polled)
    with session(engine) as s:  # w2 polls its feeds and releases them, due again in an hour
        for feed in repo.all_feeds(s):
            if feed.claimed_by == "w2":
                cluster.release(feed)
                feed.next_poll_at = NOW + timedelta(hours=1)
                s.add(feed)
        s.commit()
    assert sorted(_claim(engine, "w3", NOW + timedelta(minutes=11))) == sorted(polled)


def test_clean_shutdown_hands_leases_back(engine: Engine) -> None:
    with session(engine) as s:
        cluster.heartbeat(s, "host:1:abc", NOW)
        s.commit()
    _claim(engine, "host:1:abc", limit=10)
    with session(engine) as s:
        assert [(w.id, n) for w, n in cluster.workers(s, NOW)] == [("host:1:abc", 10)]
        cluster.forget_worker(s, "host:1:abc")
        s.commit()
        assert cluster.workers(s, NOW) == []
    assert len(_claim(engine, "other")) == 60


def test_the_health_sweep_claims_only_untold_quiet_feeds_and_each_once(engine: Engine) -> None:
    polled_long_ago, polled_just_now = NOW - timedelta(hours=1), NOW - timedelta(seconds=30)
    with session(engine) as s:
        for feed in repo.all_feeds(s):
            number = int(feed.name.removeprefix("feed-"))
            feed.health = {0: "gone", 3: "failing"}.get(number % 6, "ok")  # every third feed changed, untold
            feed.status = "gone" if number % 6 == 0 else "active"
            feed.last_polled_at = polled_just_now if number % 9 == 0 else polled_long_ago
            feed.enabled = number != 3
            s.add(feed)
        s.commit()
    results: dict[str, list[str]] = {}

    def worker(name: str) -> None:
        with session(engine) as s:
            results[name] = [f.name for f in cluster.claim_untold_feeds(
                s, name, NOW, lease=60, polled_before=NOW - timedelta(minutes=10), limit=4)]
            s.commit()

    _at_once(worker, 3)
    claimed = sorted(name for names in results.values() for name in names)
    # untold: 0, 3, ..., 57; minus the polled-just-now 0, 9, ..., 54 and the disabled 3
    assert claimed == [f"feed-{i:03}" for i in range(0, 60, 3) if i % 9 and i != 3]
    # the poller takes every active feed the sweep does not hold (gone feeds are never polled)
    assert sorted(_claim(engine, "poller", NOW)) == [f"feed-{i:03}" for i in range(60)
                                                     if i % 6 and f"feed-{i:03}" not in claimed and i != 3]
    with session(engine) as s:
        cluster.release_claims(s, "w0", [f.id for f in repo.all_feeds(s) if f.id is not None])
        s.commit()
        held = {f.name: f.claimed_by for f in repo.all_feeds(s) if f.name in claimed}
    assert set(held.values()) <= {"w1", "w2", None} and list(held.values()).count(None) == len(results["w0"])


def test_a_job_period_runs_once_across_workers(engine: Engine) -> None:
    wins: list[str] = []

    def contender(name: str) -> None:
        with session(engine) as s:
            if cluster.claim_run(s, "digest", "2026-11-24T08:00", name, NOW):
                wins.append(name)
            s.commit()

    _at_once(contender, 5)
    assert len(wins) == 1
    with session(engine) as s:
        assert cluster.claim_run(s, "digest", "2026-11-25T08:00", "w0", NOW)
        s.commit()
