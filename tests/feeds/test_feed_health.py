"""Operators hear once when a feed starts failing or falls silent, and once when it recovers: through a real
channel (apprise json:// to a loopback receiver), with retries when the channel itself is down."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.config import load_config
from monitor.errors import ConfigError
from monitor.usecases import feed_health
from monitor.usecases.context import Runtime
from tests.support.configdir import write_config
from tests.support.polling import START, cycle, db, feed_row, make_runtime, news_items, rss
from tests.support.servers import HttpServer, Request, Response, WebhookReceiver


def ops(webhook: WebhookReceiver, failures: int = 3, **extra: Any) -> dict[str, Any]:
    channels = {"console": {"urls": ["console://"]},
                "ops": {"urls": [f"json://127.0.0.1:{webhook.port}/ops"]}}
    settings = {"polling": {"health": {"failures": failures, "ops_channel": "ops", **extra}}}
    return {"channels": channels, "settings": settings}


def notices(webhook: WebhookReceiver) -> list[str]:
    return [f"{p.get('title', '')}\n{p.get('message', '')}" for p in webhook.json_posts("/ops")]


def advance(rt: Runtime, seconds: float) -> None:
    rt.clock.advance(seconds)  # type: ignore[attr-defined]


def test_one_alert_after_n_failures_and_one_recovery(tmp_path: Path, feed_server: HttpServer,
                                                     webhook: WebhookReceiver) -> None:
    feed_server.routes["/f"] = Response(500, b"down")
    rt = make_runtime(tmp_path / "c", [{"name": "World Desk", "url": feed_server.url("/f")}], **ops(webhook))
    for _ in range(6):
        cycle(rt)
        advance(rt, 3601)
    assert feed_row(rt, "World Desk")["consecutive_failures"] == 6
    sent = notices(webhook)
    assert len(sent) == 1, sent
    assert "World Desk is failing: 3 consecutive failures" in sent[0] and "HTTP 500" in sent[0]

    feed_server.routes["/f"] = Response(200, rss(news_items(2)))
    cycle(rt)
    advance(rt, 3601)
    cycle(rt)
    sent = notices(webhook)
    assert len(sent) == 2 and "World Desk has recovered (was failing)" in sent[1]
    assert feed_row(rt, "World Desk")["health_notified"] == "ok"


def test_silence_far_beyond_the_usual_cadence(tmp_path: Path, feed_server: HttpServer,
                                              webhook: WebhookReceiver) -> None:
    def route(req: Request) -> Response:
        if req.headers.get("if-none-match") == '"v1"':
            return Response(304, b"")
        return Response(200, rss(news_items(12, every=3600)), {"ETag": '"v1"'})

    feed_server.routes["/f"] = route
    rt = make_runtime(tmp_path / "c", [{"name": "hourly", "url": feed_server.url("/f")}],
                      **ops(webhook, silence_factor=5, min_silence="1h"))
    cycle(rt)
    assert feed_row(rt, "hourly")["cadence"] == 3600
    for _ in range(2):  # 4 hours: quiet, but not for long
        advance(rt, 7200)
        assert cycle(rt)["hourly"].status == "not_modified"
    assert notices(webhook) == []
    advance(rt, 7300)  # past 5 hourly gaps with nothing new
    cycle(rt)
    advance(rt, 7200)
    cycle(rt)
    sent = notices(webhook)
    assert len(sent) == 1 and "hourly is silent" in sent[0], sent

    feed_server.routes["/f"] = Response(200, rss(news_items(1, start=START.replace(hour=23), prefix="new")))
    advance(rt, 7200)
    cycle(rt)
    assert len(notices(webhook)) == 2 and "recovered (was silent)" in notices(webhook)[1]


def test_gone_is_told_once(tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver) -> None:
    feed_server.routes["/f"] = Response(410, b"gone")
    rt = make_runtime(tmp_path / "c", [{"name": "old", "url": feed_server.url("/f")}], **ops(webhook))
    cycle(rt)
    advance(rt, 86400)
    assert cycle(rt) == {}
    assert len(notices(webhook)) == 1 and "old is gone (HTTP 410)" in notices(webhook)[0]


def test_a_failed_notice_is_retried_at_the_next_poll(tmp_path: Path, feed_server: HttpServer,
                                                     webhook: WebhookReceiver) -> None:
    feed_server.routes["/f"] = Response(404, b"no")
    webhook.routes["/ops"] = Response(500, b"channel down")
    rt = make_runtime(tmp_path / "c", [{"name": "f", "url": feed_server.url("/f")}], **ops(webhook, failures=1))
    cycle(rt)
    assert len(webhook.posts("/ops")) == 1 and feed_row(rt, "f")["health_notified"] == "ok"
    del webhook.routes["/ops"]
    advance(rt, 3601)
    cycle(rt)
    assert len(webhook.posts("/ops")) == 2 and feed_row(rt, "f")["health_notified"] == "failing"
    advance(rt, 3601)
    cycle(rt)
    assert len(webhook.posts("/ops")) == 2  # told once, however long it keeps failing


def retell(rt: Runtime) -> int:
    return asyncio.run(feed_health.retell_health(rt))


def _gone_while_the_channel_was_down(tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver) -> Runtime:
    """A feed answered 410 while the ops channel was down (the notice failed); the channel is back now."""
    feed_server.routes["/f"] = Response(410, b"gone")
    webhook.routes["/ops"] = Response(500, b"channel down")
    rt = make_runtime(tmp_path / "c", [{"name": "old", "url": feed_server.url("/f")}], **ops(webhook))
    cycle(rt)
    assert len(webhook.posts("/ops")) == 1 and feed_row(rt, "old")["health_notified"] == "ok"
    del webhook.routes["/ops"]
    return rt


def test_a_failed_gone_notice_is_retold_by_the_health_sweep(tmp_path: Path, feed_server: HttpServer,
                                                            webhook: WebhookReceiver) -> None:
    """A feed that answered 410 is never polled again, so no poll can retry its notice: the sweep does."""
    rt = _gone_while_the_channel_was_down(tmp_path, feed_server, webhook)
    assert retell(rt) == 0  # just polled: that poll's own retelling is not raced
    assert len(webhook.posts("/ops")) == 1

    advance(rt, 601)
    assert cycle(rt) == {}  # gone: not polled
    assert retell(rt) == 1
    sent = notices(webhook)
    assert len(sent) == 2 and "old is gone (HTTP 410)" in sent[1]
    row = feed_row(rt, "old")
    assert row["health_notified"] == "gone" and row["claimed_by"] is None  # the sweep's claim is given back
    advance(rt, 601)
    assert retell(rt) == 0 and len(webhook.posts("/ops")) == 2  # told once


def test_the_health_sweep_skips_feeds_another_worker_holds(tmp_path: Path, feed_server: HttpServer,
                                                          webhook: WebhookReceiver) -> None:
    rt = _gone_while_the_channel_was_down(tmp_path, feed_server, webhook)
    advance(rt, 601)
    until = rt.clock() + timedelta(seconds=60)
    with db(rt) as c:
        c.execute("update feeds set claimed_by = 'other', claimed_until = ? where name = 'old'",
                  (until.strftime("%Y-%m-%d %H:%M:%S.%f"),))
    assert retell(rt) == 0 and len(webhook.posts("/ops")) == 1
    advance(rt, 61)  # the other worker's lease ran out: it died mid-send
    assert retell(rt) == 1 and feed_row(rt, "old")["health_notified"] == "gone"


def test_the_daemon_runs_the_health_sweep_every_five_minutes(tmp_path: Path, feed_server: HttpServer,
                                                              webhook: WebhookReceiver) -> None:
    from apscheduler.triggers.interval import IntervalTrigger

    from monitor.runtime.scheduler import Jobs, build_scheduler

    rt = _gone_while_the_channel_was_down(tmp_path, feed_server, webhook)
    advance(rt, 601)
    jobs = Jobs(lambda: rt)
    job = build_scheduler(jobs, tick=5, delivery_interval=5).get_job("health")
    assert isinstance(job.trigger, IntervalTrigger) and job.trigger.interval == timedelta(minutes=5)
    asyncio.run(job.func())
    assert len(webhook.posts("/ops")) == 2 and feed_row(rt, "old")["health_notified"] == "gone"


def test_ops_channel_must_exist(tmp_path: Path) -> None:
    directory = write_config(tmp_path / "c", settings={"polling": {"health": {"ops_channel": "pager"}}})
    with pytest.raises(ConfigError) as caught:
        load_config(directory, env={})
    message = str(caught.value)
    assert "monitor.yaml:" in message and "polling.health.ops_channel" in message
    assert "unknown channel 'pager' (channels.yaml has: console)" in message
