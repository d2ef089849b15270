"""SIGTERM under load: in-flight polls and deliveries finish, exit 0 within the grace period, nothing lost."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.configdir import write_config
from tests.support.daemonproc import Daemon, GrowingFeed, daemon_settings, http_get, wait_until, watchlist
from tests.support.servers import HttpServer, Response, WebhookReceiver, free_port
from tests.support.words import distinct

pytestmark = pytest.mark.slow
StartDaemon = Callable[..., Daemon]


def _db(config: Path) -> sqlite3.Connection:
    return sqlite3.connect(config / "monitor.db")


def test_sigterm_during_a_poll_round_and_a_delivery_batch_loses_nothing(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, start_daemon: StartDaemon) -> None:
    fast, slow = GrowingFeed("Fast"), GrowingFeed("Slow", delay=3.0)
    for i in range(1, 5):
        fast.add(f"Alpha fast report {i} {distinct(i)}")
    for i in range(1, 3):
        slow.add(f"Alpha slow report {i} {distinct(100 + i)}")
    feed_server.routes["/fast.xml"], feed_server.routes["/slow.xml"] = fast, slow
    webhook.routes["/hook"] = Response(200, b"ok", delay=0.7)  # a slow channel: the batch takes seconds
    config = write_config(
        tmp_path / "config",
        feeds=[{"url": feed_server.url("/fast.xml"), "name": "Fast"},
               {"url": feed_server.url("/slow.xml"), "name": "Slow"}],
        channels={"hook": {"urls": [f"json://127.0.0.1:{webhook.port}/hook"]}},
        watchlists={"test": watchlist("alpha", channels=("hook",))},
        settings=daemon_settings(shutdown_grace="10s", port=(port := free_port())))
    daemon = start_daemon(config)

    # SIGTERM while the slow feed's response is still on its way and the webhook is mid-batch.
    wait_until(lambda: len(webhook.posts("/hook")) >= 1 and len(feed_server.hits("/slow.xml")) >= 1,
               message="a delivery under way and the slow feed requested")
    assert daemon.named("feed_refreshed", feed="Slow") == []
    sent_at = time.monotonic()
    daemon.signal(signal.SIGTERM)
    daemon.wait_for("daemon_stopping")
    # While draining it is alive but no longer ready, so a load balancer stops sending it work.
    assert http_get(f"http://127.0.0.1:{port}/readyz")[0] == 503
    assert http_get(f"http://127.0.0.1:{port}/healthz")[0] == 200
    code = daemon.proc.wait(timeout=30)
    took = time.monotonic() - sent_at

    assert code == 0, daemon.stderr()
    assert took < 10 + 5, f"exit took {took:.1f}s with a 10s grace period"
    stopping = daemon.wait_for("daemon_stopping")
    assert stopping["in_flight"] >= 1 and stopping["delivering"] is True
    assert daemon.wait_for("daemon_stopped")["drained"] is True

    with _db(config) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        items = dict(db.execute("select f.name, count(i.id) from feeds f left join items i on i.feed_id = f.id "
                                "group by f.name").fetchall())
        alerts = db.execute("select count(*) from alerts").fetchone()[0]
        states = db.execute("select status, count(*) from deliveries group by status").fetchall()
    assert items == {"Fast": 4, "Slow": 2}  # the in-flight poll finished and was stored
    assert alerts == 6
    assert states == [("delivered", 6)]  # the batch finished, and the last poll's alerts went out before exit
    titles = [json.loads(r.body)["title"] for r in webhook.posts("/hook")]
    assert sorted(titles) == sorted(set(titles)) and len(titles) == 6, titles  # each alert once, none lost


def test_a_poll_that_outlives_the_grace_period_is_cut_and_leaves_nothing_half_written(
        tmp_path: Path, feed_server: HttpServer, start_daemon: StartDaemon) -> None:
    hung = GrowingFeed("Hung", delay=20.0)
    hung.add("Alpha report that never arrives")
    feed_server.routes["/hung.xml"] = hung
    config = write_config(tmp_path / "config", feeds=[{"url": feed_server.url("/hung.xml"), "name": "Hung"}],
                          watchlists={"test": watchlist("alpha")},
                          settings=daemon_settings(shutdown_grace="2s", polling={"tick": "0.5s", "timeout": "15s"}))
    daemon = start_daemon(config)
    wait_until(lambda: len(feed_server.hits("/hung.xml")) >= 1, message="the hung feed requested")
    sent_at = time.monotonic()
    daemon.signal(signal.SIGTERM)
    code = daemon.proc.wait(timeout=30)
    took = time.monotonic() - sent_at

    assert code == 0, daemon.stderr()
    assert took < 2 + 5, f"exit took {took:.1f}s with a 2s grace period"
    daemon.wait_for("shutdown_grace_expired")
    assert daemon.wait_for("daemon_stopped")["drained"] is False
    with _db(config) as db:
        assert db.execute("pragma integrity_check").fetchone() == ("ok",)
        assert db.execute("select count(*) from items").fetchone()[0] == 0
        assert db.execute("select last_polled_at, consecutive_failures from feeds").fetchone() == (None, 0)
