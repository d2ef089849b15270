"""Several `monitor run` processes on one PostgreSQL database share the feeds without double polls."""

from __future__ import annotations

import itertools
import signal
import time
from collections import defaultdict
from pathlib import Path

import pytest

from monitor.core.schedule import SUCCESS_JITTER
from tests.conftest import start_monitor
from tests.support.configdir import write_config
from tests.support.db import backend, scalar
from tests.support.servers import HttpServer, Request, Response, WebhookReceiver
from tests.support.words import distinct

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(backend() != "postgresql", reason="several workers need PostgreSQL (MONITOR_TEST_DB)"),
]

FEEDS = 300
INTERVAL = 10.0
# Short, so that a killed worker's feeds come back within the test, yet longer than a feed's poll takes on this
# 2-core machine with three daemons and their six parse workers: at 6 s a poll on a loaded CI run outlived its
# lease and another worker polled the feed again, 5.9 s later.
LEASE = 10.0


ALERTING = range(0, FEEDS, 15)  # every 15th feed carries an item the watchlist alerts on


def _feed(i: int) -> bytes:
    # Distinct words per item: numbered look-alike headlines would be one story, and one alert.
    title = f"Alpha brigade {i} {distinct(i)} crosses the border" if i in ALERTING else f"Item of feed {i}"
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {i}</title>'
            f"<item><title>{title}</title><link>http://example.org/{i}/1</link>"
            f"<guid>{i}-1</guid></item></channel></rss>").encode()


def _slow_feed(i: int) -> Response:
    # A little latency keeps feeds in flight (claimed) when a worker is killed.
    return Response(200, _feed(i), {"Content-Type": "application/rss+xml"}, delay=0.05)


def test_three_workers_poll_each_feed_once_per_interval(tmp_path: Path, feed_server: HttpServer,
                                                        webhook: WebhookReceiver, database_url: str) -> None:
    for i in range(FEEDS):
        feed_server.routes[f"/f/{i}.xml"] = _slow_feed(i)
    config = write_config(
        tmp_path / "config", database=database_url,
        feeds=[{"url": feed_server.url(f"/f/{i}.xml"), "name": f"feed-{i:03}", "interval": "10s"}
               for i in range(FEEDS)],
        channels={"hook": {"urls": [f"json://127.0.0.1:{webhook.port}/alerts"], "rate_limit": None}},
        watchlists={"alpha": {"name": "alpha", "keywords": [{"term": "alpha", "weight": 5}],
                              "severities": {"warning": 4}, "notify": [{"channels": ["hook"]}]}},
        settings={"delivery": {"interval": "1s"},
                  "polling": {"interval": "10s", "min_interval": "5s", "tick": "0.5s", "timeout": "3s",
                              "lease": f"{LEASE}s", "concurrency": 20, "per_host": 20},
                  "log": {"level": "warning", "format": "json"}},
    )
    workers = [start_monitor("run", "--config", str(config)) for _ in range(3)]
    try:
        time.sleep(24)
        killed_at = time.monotonic()
        workers[0].send_signal(signal.SIGKILL)
        time.sleep(INTERVAL * (1 + SUCCESS_JITTER) + LEASE + 6)
    finally:
        for w in workers[1:]:
            w.send_signal(signal.SIGTERM)
        outputs = [w.communicate(timeout=60)[0] for w in workers]
    assert [w.returncode for w in workers[1:]] == [0, 0], outputs[1:]

    by_feed: dict[str, list[Request]] = defaultdict(list)
    for request in feed_server.requests:
        by_feed[request.path].append(request)
    assert len(by_feed) == FEEDS
    for path, requests in by_feed.items():
        times = sorted(r.at for r in requests)
        # Polled once per interval (less the politeness jitter): never sooner, whichever worker polled. The one
        # exception is a poll the killed worker had in flight: it never finished, so the feed is polled again
        # when that lease expires.
        for a, b in itertools.pairwise(times):
            in_flight_at_kill = killed_at - 2.0 < a <= killed_at
            # (The lease runs from the claim; the scheduler claims twice its concurrency, so a claimed feed may
            # wait seconds for a slot before its request goes out: the next poll can come sooner after it.)
            least = LEASE - 3.0 if in_flight_at_kill else INTERVAL * (1 - SUCCESS_JITTER) - 0.5
            assert b - a >= least, (path, times, killed_at)
        # And nobody starves, including the feeds the killed worker held: polled before the kill and again after
        # it. (Not "twice before the kill": a feed whose second poll the killed worker had claimed but not yet
        # sent gets it only when that lease runs out.)
        assert times[0] < killed_at and len(times) >= 2, path
        assert any(killed_at < t <= killed_at + INTERVAL * (1 + SUCCESS_JITTER) + LEASE + 4 for t in times), (
            path, times, killed_at)
    assert scalar(database_url, "select count(*) from items") == FEEDS
    # Every alert delivered exactly once, whichever worker sent it (all were sent long before the kill).
    titles = sorted(post["title"] for post in webhook.json_posts("/alerts"))
    assert titles == sorted(f"[WARNING] alpha: Alpha brigade {i} {distinct(i)} crosses the border" for i in ALERTING)
