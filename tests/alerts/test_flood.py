"""Flood control end to end: a storm, quiet hours, digests, the re-alert window, routing by tags."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

from monitor.domain import Severity
from monitor.store import repo
from monitor.store.db import session
from monitor.usecases.alerting import write_alert
from tests.alerts.helpers import START, Setup, serve_feed, setup, watchlist
from tests.support.configdir import write_config
from tests.support.servers import HttpServer, WebhookReceiver
from tests.support.words import distinct


def _named(webhook: WebhookReceiver, path: str) -> list[int]:
    return [int(a) for r in webhook.accepted(path) for a in r.headers["x-monitor-alerts"].split(",")]


def test_a_storm_of_500_alerts_respects_the_limit_and_names_every_alert_once(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver) -> None:
    items = [(f"s{i}", f"NATO war bulletin {i} {distinct(i)}") for i in range(500)]
    s = setup(tmp_path, serve_feed(feed_server, items), {"ops": {
        "urls": [f"json://127.0.0.1:{webhook.port}/ops"], "rate_limit": {"messages": 10, "per": "1m"},
        "summary_size": 25}})
    try:
        s.poll()
        assert s.rows("select count(*) from alerts") == [(500,)]
        for _ in range(5):  # all 500 are due within the first minute; let windows pass
            s.deliver()
            s.clock.advance(61)
    finally:
        s.close()
    posts = webhook.accepted("/ops")
    named = _named(webhook, "/ops")
    assert sorted(named) == [a for (a,) in s.rows("select id from alerts order by id")]  # all 500, once each
    singles = [p for p in posts if "," not in p.headers["x-monitor-alerts"]]
    assert len(singles) <= 10
    for post in posts:  # a summary lists what it names, in its body too
        ids = post.headers["x-monitor-alerts"].split(",")
        if len(ids) > 1:
            assert all(f"#{i} " in post.body.decode() for i in ids)
    starts = [datetime.fromisoformat(t) for (t,) in s.rows("select started_at from sends order by started_at")]
    for t in starts:  # no sliding minute holds more than 10 messages
        assert sum(1 for u in starts if t <= u < t + timedelta(seconds=60)) <= 10
    assert s.rows("select count(*) from deliveries where status != 'delivered'") == [(0,)]


def test_quiet_hours_hold_warnings_and_send_them_as_one_digest(tmp_path: Path, feed_server: HttpServer,
                                                               webhook: WebhookReceiver) -> None:
    items = [("q1", "NATO war one"), ("q2", "NATO war two"), ("q3", "NATO nuclear war three")]
    s = setup(tmp_path, serve_feed(feed_server, items), {"night": {
        "urls": [f"json://127.0.0.1:{webhook.port}/night"],
        # START is 12:00 UTC = 13:00 in Berlin: quiet until 14:30 local.
        "quiet_hours": {"start": "12:30", "end": "14:30", "timezone": "Europe/Berlin", "bypass": "critical"}}})
    try:
        s.poll()
        stats = s.deliver()
        assert stats.delivered == 1 and stats.held == 2  # the critical one went through
        s.clock.advance(3600)  # 14:00 local: still quiet
        assert s.deliver().messages == 0
        s.clock.advance(1800)  # 14:30 local: quiet hours end
        assert s.deliver().messages == 1
    finally:
        s.close()
    critical, digest = webhook.accepted("/night")
    assert "nuclear" in critical.body.decode()
    body = digest.body.decode()
    assert "held for this digest" in body and "war one" in body and "war two" in body
    assert len(digest.headers["x-monitor-alerts"].split(",")) == 2


def test_digest_channel_sends_once_at_its_scheduled_time(tmp_path: Path, feed_server: HttpServer,
                                                         webhook: WebhookReceiver) -> None:
    items = [("d1", "NATO war one"), ("d2", "NATO war two")]
    s = setup(tmp_path, serve_feed(feed_server, items), {"daily": {
        "urls": [f"json://127.0.0.1:{webhook.port}/daily"], "digest": {"cron": "0 8 * * *", "timezone": "UTC"}}})
    try:
        s.poll()
        assert s.deliver().held == 2
        (until,) = s.rows("select distinct next_attempt_at from deliveries")[0]
        assert datetime.fromisoformat(until).replace(tzinfo=START.tzinfo) == START.replace(hour=8) + timedelta(days=1)
        s.clock.now = START.replace(hour=8) + timedelta(days=1)
        assert s.deliver().messages == 1
        s.clock.advance(86400)
        assert s.deliver().messages == 0
    finally:
        s.close()
    (digest,) = webhook.accepted("/daily")
    assert re.search(r"2 alerts \(2 warning\)", digest.body.decode())


def test_one_story_alerts_once_unless_its_severity_rises(tmp_path: Path, feed_server: HttpServer) -> None:
    """The outbox side of the re-alert window: alerts about one subject (a story, once stories are
    wired in) in the scoring transaction. Same severity again: suppressed; higher: a new alert; after
    the window: the same severity may alert again, under a new key."""
    s = setup(tmp_path, serve_feed(feed_server, [("x", "NATO war looms"), ("y", "NATO war again"),
                                                 ("z", "NATO nuclear war")]), {"ops": {"urls": ["console://"]}})
    try:
        s.poll()  # three items, three alerts (each its own subject)
        items = [i for (i,) in s.rows("select id from items order by id")]
        story = "story:7"

        def alert(item_id: int, severity: Severity, at: datetime) -> int | None:
            with session(s.rt.engine) as db:
                alert_id = write_alert(db, repo.NewAlert(
                    dedup_key=f"escalation:{story}:{severity.label}:{at.isoformat()}", item_id=item_id,
                    watchlist="escalation", severity=int(severity), score=10.0, message={}, channels=("ops",),
                    subject=story), at, realert=(severity, 6 * 3600))
                db.commit()
            return alert_id

        assert alert(items[0], Severity.WARNING, START) is not None
        assert alert(items[1], Severity.WARNING, START + timedelta(hours=1)) is None  # same story, same severity
        assert alert(items[2], Severity.CRITICAL, START + timedelta(hours=2)) is not None  # it rose
        assert alert(items[1], Severity.WARNING, START + timedelta(hours=9)) is not None  # the window has passed
        severities = [v for (v,) in s.rows("select severity from alerts where subject = ? order by id", story)]
        assert severities == [int(Severity.WARNING), int(Severity.CRITICAL), int(Severity.WARNING)]
    finally:
        s.close()


def _watchlist(channel: str, tags: list[str] | None = None) -> dict[str, object]:
    body = watchlist([channel])
    if tags:
        body["notify"] = [{"channels": [channel], "min_severity": "watch", "tags": tags}]
    return body


def test_notify_rules_select_channels_by_feed_tag(tmp_path: Path, feed_server: HttpServer,
                                                  webhook: WebhookReceiver) -> None:
    a = serve_feed(feed_server, [("u1", "NATO war in the east")], "/ua.xml")
    b = serve_feed(feed_server, [("w1", "NATO war elsewhere")], "/world.xml")
    body = _watchlist("ua-desk", tags=["ukraine"])
    config = write_config(tmp_path / "config", feeds=[{"url": a, "name": "UA", "tags": ["ukraine"]},
                                                      {"url": b, "name": "World", "tags": ["world"]}],
                          channels={"ua-desk": {"urls": [f"json://127.0.0.1:{webhook.port}/ua"]}},
                          watchlists={"escalation": body})
    s = Setup(config)
    try:
        s.poll()
        s.deliver()
    finally:
        s.close()
    (post,) = webhook.accepted("/ua")
    assert "in the east" in post.body.decode()


def test_the_scheduler_runs_a_delivery_pass_at_each_digest_time(tmp_path: Path, feed_server: HttpServer) -> None:
    from apscheduler.triggers.cron import CronTrigger

    from monitor.runtime.scheduler import Jobs, build_scheduler

    s = setup(tmp_path, serve_feed(feed_server, []), {
        "daily": {"urls": ["console://"], "digest": {"cron": "30 7 * * 1-5", "timezone": "Europe/Berlin"}},
        "live": {"urls": ["console://"]}})
    try:
        scheduler = build_scheduler(Jobs(lambda: s.rt), tick=5, delivery_interval=5)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert {"poll", "deliver", "digest:daily"} <= set(jobs) and "digest:live" not in jobs
        trigger = jobs["digest:daily"].trigger
        assert isinstance(trigger, CronTrigger)
        fire = trigger.get_next_fire_time(None, START)  # Monday 12:00 UTC -> Tuesday 07:30 in Berlin
        assert fire is not None and fire.isoformat() == "2026-03-03T07:30:00+01:00"
    finally:
        s.close()
