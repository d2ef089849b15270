"""Holds (issue 17): a silenced alert, or an update about an acknowledged or snoozed story, is recorded with status
"held" and no deliveries, and never reaches the channel; a rise in severity is sent and reopens the story.

On the real database (SQLite file, or PostgreSQL with MONITOR_TEST_DB=postgresql), with a json:// webhook on
loopback as the channel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import col, select

from monitor.domain import Severity
from monitor.store import outbox, repo, silences, triage
from monitor.store.db import session
from monitor.store.desk_tables import TriageEventRow, TriageRow
from monitor.store.tables import AlertRow, DeliveryRow
from monitor.usecases.alerting import write_alert
from tests.alerts.helpers import START, Setup, serve_feed
from tests.stories.helpers import many_feeds, webhook_channel
from tests.support.servers import HttpServer, WebhookReceiver

DRILL = ("d1", "NATO war games drill rehearses a river crossing", "http://wire.invalid/drill")
BORDER = ("b1", "NATO warns of war after border shelling near Kharkiv", "http://wire.invalid/border")


@pytest.fixture
def desk(tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> Iterator[Setup]:
    """One feed serving the drill and the border stories, and a webhook channel; nothing polled yet."""
    s = many_feeds(tmp_path, feed_server, database_url, 1, [DRILL, BORDER], webhook_channel(webhook.port))
    yield s
    s.close()


def _alerts(s: Setup) -> list[AlertRow]:
    with session(s.rt.engine) as db:
        return list(db.exec(select(AlertRow).order_by(col(AlertRow.id))))


def _deliveries(s: Setup, alert_id: int | None) -> list[DeliveryRow]:
    with session(s.rt.engine) as db:
        return list(db.exec(select(DeliveryRow).where(DeliveryRow.alert_id == alert_id)))


def _silence(s: Setup, *matchers: tuple[str, str], hours: float = 2) -> int:
    with session(s.rt.engine) as db:
        row = silences.add_silence(db, [{"field": f, "value": v} for f, v in matchers], starts_at=s.clock(),
                                   ends_at=s.clock() + timedelta(hours=hours), author="ana", now=s.clock(),
                                   comment="exercise")
        db.commit()
    assert row.id is not None
    return row.id


def test_a_silenced_alert_is_recorded_held_and_never_sent(desk: Setup, webhook: WebhookReceiver) -> None:
    silence = _silence(desk, ("watchlist", "escalation"), ("text", "DRILL"), ("tag", "world"))
    desk.poll()
    desk.deliver()
    by_title = {a.message["title"]: a for a in _alerts(desk)}
    held, sent = by_title[DRILL[1]], by_title[BORDER[1]]
    assert (held.status, held.held_by, held.kind) == ("held", f"silence:{silence}", "story_first")
    assert _deliveries(desk, held.id) == []
    assert (sent.status, sent.held_by) == ("delivered", None)
    bodies = [r.body.decode() for r in webhook.accepted("/desk")]
    assert len(bodies) == 1 and "border shelling" in bodies[0] and "drill" not in bodies[0]
    desk.clock.advance(3600)
    desk.deliver()  # a later pass finds nothing of the held alert either, and leaves its status alone
    assert len(webhook.accepted("/desk")) == 1
    assert {a.message["title"]: a.status for a in _alerts(desk)}[DRILL[1]] == "held"


def test_a_silence_that_matches_only_part_of_its_matchers_holds_nothing(desk: Setup) -> None:
    _silence(desk, ("text", "drill"), ("feed", "Another outlet"))
    desk.poll()
    assert {a.status for a in _alerts(desk)} == {"pending"}


def test_an_expired_silence_no_longer_holds(desk: Setup, feed_server: HttpServer,
                                            webhook: WebhookReceiver) -> None:
    silence = _silence(desk, ("text", "drill"))
    with session(desk.rt.engine) as db:
        assert silences.expire_silence(db, silence, desk.clock()) is not None
        db.commit()
        assert silences.active_silences(db, desk.clock()) == []
    desk.poll()
    desk.deliver()
    assert [(a.status, a.held_by) for a in _alerts(desk)] == [("delivered", None)] * 2
    assert len(webhook.accepted("/desk")) == 2


def test_a_silence_that_ran_out_holds_what_came_before_and_not_after(desk: Setup, feed_server: HttpServer) -> None:
    _silence(desk, ("text", "drill"), hours=1)
    desk.poll()
    desk.clock.advance(2 * 3600)  # past the silence's end, and the feed is due again
    later = ("d2", "Baltic drill: NATO war planes intercept bombers over Gotland", "http://wire.invalid/drill-2")
    serve_feed(feed_server, [DRILL, BORDER, later], "/f0.xml")
    desk.poll()
    states = {a.message["title"]: (a.status, a.held_by) for a in _alerts(desk)}
    assert states[DRILL[1]][0] == "held" and states[later[1]] == ("pending", None)


def _story_alert(story: str, severity: Severity, key: str, channels: tuple[str, ...] = ("desk",)) -> repo.NewAlert:
    message = {"alert_id": 0, "watchlist": "escalation", "severity": severity.label, "score": 6.0,
               "title": f"Story {story}: {key}", "link": "http://wire.invalid/x", "feed": "Outlet 0",
               "published": START.isoformat(), "actors": ["NATO"]}
    return repo.NewAlert(dedup_key=key, item_id=None, watchlist="escalation", severity=int(severity), score=6.0,
                         message=message, channels=channels, subject=f"story:{story}", kind="story_update",
                         story_id=story)


def _write(s: Setup, alert: repo.NewAlert, at_hours: float = 0) -> AlertRow:
    with session(s.rt.engine) as db:
        alert_id = write_alert(db, alert, s.clock() + timedelta(hours=at_hours))
        db.commit()
        row = db.get(AlertRow, alert_id)
    assert row is not None
    return row


def _triage(s: Setup, story: str, state: str, until_hours: float | None = None) -> None:
    with session(s.rt.engine) as db:
        until = s.clock() + timedelta(hours=until_hours) if until_hours is not None else None
        triage.set_triage(db, story, state, user="ana", now=s.clock(), until=until)
        db.commit()


def test_a_snoozed_story_holds_an_update_at_its_severity_and_sends_a_rise_and_reopens(
        desk: Setup, webhook: WebhookReceiver) -> None:
    first = _write(desk, _story_alert("s1", Severity.WARNING, "k1"))
    _triage(desk, "s1", "snoozed", until_hours=24)
    same = _write(desk, _story_alert("s1", Severity.WARNING, "k2"), at_hours=1)
    lower = _write(desk, _story_alert("s1", Severity.WATCH, "k3"), at_hours=2)
    assert [(a.status, a.held_by) for a in (first, same, lower)] == [
        ("pending", None), ("held", "snoozed"), ("held", "snoozed")]
    assert _deliveries(desk, same.id) == [] and len(_deliveries(desk, first.id)) == 1
    rise = _write(desk, _story_alert("s1", Severity.CRITICAL, "k4"), at_hours=3)
    assert (rise.status, rise.held_by) == ("pending", None)
    with session(desk.rt.engine) as db:
        assert db.get(TriageRow, "s1") is None  # reopened
        reopen = db.exec(select(TriageEventRow).where(TriageEventRow.action == "reopen")).one()
        assert (reopen.story_id, reopen.user) == ("s1", "system")
    after = _write(desk, _story_alert("s1", Severity.WARNING, "k5"), at_hours=4)
    assert after.status == "pending"  # open again: updates are sent
    desk.clock.advance(5 * 3600)
    desk.deliver()
    titles = [r.body.decode() for r in webhook.accepted("/desk")]
    assert len(titles) == 3 and not any(": k2" in t or ": k3" in t for t in titles)


def test_a_snooze_that_ran_out_holds_nothing(desk: Setup) -> None:
    _write(desk, _story_alert("s2", Severity.WARNING, "k1"))
    _triage(desk, "s2", "snoozed", until_hours=1)
    assert _write(desk, _story_alert("s2", Severity.WARNING, "k2"), at_hours=2).status == "pending"


def test_an_acknowledged_story_holds_its_updates_for_good(desk: Setup) -> None:
    _write(desk, _story_alert("s3", Severity.WARNING, "k1"))
    _triage(desk, "s3", "acked")
    week_later = _write(desk, _story_alert("s3", Severity.WARNING, "k2"), at_hours=24 * 7)
    assert (week_later.status, week_later.held_by) == ("held", "acked")
    other_story = _write(desk, _story_alert("s4", Severity.WARNING, "k3"))
    assert other_story.status == "pending"


def test_a_silence_wins_over_a_rise_but_the_story_is_reopened(desk: Setup) -> None:
    _write(desk, _story_alert("s5", Severity.WARNING, "k1"))
    _triage(desk, "s5", "acked")
    silence = _silence(desk, ("actor", "nato"))
    rise = _write(desk, _story_alert("s5", Severity.CRITICAL, "k2"))
    assert (rise.status, rise.held_by) == ("held", f"silence:{silence}")
    with session(desk.rt.engine) as db:
        assert triage.triage_of(db, "s5") is None


def test_trend_alerts_are_silenced_but_never_snoozed(desk: Setup) -> None:
    def trend(key: str) -> repo.NewAlert:
        alert = _story_alert("unused", Severity.WARNING, key)
        message = {**alert.message, "feed": "trend", "title": "Trend: NATO + escalation", "actors": ["NATO"]}
        return repo.NewAlert(dedup_key=key, item_id=None, watchlist="escalation", severity=int(Severity.WARNING),
                             score=9.0, message=message, channels=("desk",), subject="trend:escalation/NATO",
                             kind="trend")
    assert _write(desk, trend("t1")).status == "pending"
    silence = _silence(desk, ("feed", "trend"), ("actor", "NATO"))
    held = _write(desk, trend("t2"))
    assert (held.status, held.held_by, held.story_id) == ("held", f"silence:{silence}", None)


def test_status_recomputation_leaves_a_held_alert_alone(desk: Setup) -> None:
    _silence(desk, ("watchlist", "escalation"))
    held = _write(desk, _story_alert("s6", Severity.WARNING, "k1"))
    with session(desk.rt.engine) as db:  # a delivery that should never exist, to prove the rule itself
        stray = DeliveryRow(alert_id=held.id or 0, channel="desk", next_attempt_at=desk.clock(), status="failed")
        db.add(stray)
        db.flush()
        outbox.refresh_alerts(db, [stray.id or 0])
        db.commit()
        assert db.get(AlertRow, held.id).status == "held"  # type: ignore[union-attr]


def test_a_dedup_conflict_writes_nothing_and_reopens_nothing(desk: Setup) -> None:
    _write(desk, _story_alert("s7", Severity.WARNING, "k1"))
    _triage(desk, "s7", "acked")
    with session(desk.rt.engine) as db:
        assert write_alert(db, _story_alert("s7", Severity.CRITICAL, "k1"), desk.clock()) is None
        db.commit()
        assert triage.triage_of(db, "s7") is not None
