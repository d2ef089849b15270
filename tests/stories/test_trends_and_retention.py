"""Trend alerts and retention as the scheduled jobs run them: stored rows with chosen timestamps, the job
function called with `now`, on the real database (SQLite file or PostgreSQL)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from monitor.config import load_config
from monitor.store.tables import AlertRow, DeliveryRow, StoryRow
from monitor.usecases import retention, trends
from tests.stories.helpers import LAVROV, add_feed, add_scored, engine_at_head, escalation, hourly
from tests.support.configdir import write_config
from tests.support.db import query

NOW = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)  # a Monday afternoon
HISTORY = NOW - timedelta(days=5)  # daily baseline (fewer than 2 weeks on record)


def _config(tmp_path: Path, url: str, **extra: Any) -> Any:
    return load_config(write_config(tmp_path / "config", channels={"desk": {"urls": ["json://127.0.0.1:9/desk"]}},
                                    watchlists={"escalation": escalation(["desk"], **extra)}, database=url), env={})


def _steady(engine: Any, feed: int) -> None:
    """A busy watchlist (50 escalation items an hour from unnamed actors) and Lavrov at 2 an hour."""
    add_scored(engine, feed, hourly(HISTORY, NOW, 50), prefix="w")
    add_scored(engine, feed, hourly(HISTORY, NOW, 2), actors=[LAVROV], prefix="l")


def _trend_alerts(url: str) -> list[tuple[str, dict[str, Any]]]:
    rows = query(url, "select subject, message from alerts where kind = 'trend' order by id")
    return [(subject, m if isinstance(m, dict) else json.loads(m)) for subject, m in rows]


def test_a_surge_about_one_actor_gives_exactly_one_trend_alert(tmp_path: Path, database_url: str) -> None:
    config = _config(tmp_path, database_url)
    engine = engine_at_head(database_url)
    try:
        feed = add_feed(engine)
        _steady(engine, feed)
        surge = [NOW - timedelta(minutes=50) + timedelta(minutes=3 * k) for k in range(14)]
        add_scored(engine, feed, surge, actors=[LAVROV], prefix="s")

        assert trends.run_trends(engine, config, "w1", NOW) == 1
        assert trends.run_trends(engine, config, "w2", NOW) == 0  # the period is claimed: once per cluster
        later = NOW + trends.PERIOD
        add_scored(engine, feed, [later - timedelta(minutes=1)] * 3, actors=[LAVROV], prefix="t")
        assert trends.run_trends(engine, config, "w1", later) == 0  # same surge, within the cooldown

        ((subject, message),) = _trend_alerts(database_url)
        assert subject == f"trend:escalation/{LAVROV}"
        assert message["summary"].startswith(f"{LAVROV} + escalation: 16 items in the last hour, baseline 2.0")
        assert message["sources"] == 1  # sixteen items, all from one feed: one source
        assert query(database_url, "select channel, status from deliveries") == [("desk", "pending")]
        assert query(database_url, "select item_id from alerts") == [(None,)]
    finally:
        engine.dispose()


def test_a_trend_counts_the_feeds_it_came_from_as_its_sources(tmp_path: Path, database_url: str) -> None:
    config = _config(tmp_path, database_url)
    engine = engine_at_head(database_url)
    try:
        feeds = [add_feed(engine, name) for name in ("Wire", "Daily", "Radio")]
        _steady(engine, feeds[0])
        for n, feed in enumerate(feeds):
            surge = [NOW - timedelta(minutes=50) + timedelta(minutes=3 * k) for k in range(5)]
            add_scored(engine, feed, surge, actors=[LAVROV], prefix=f"s{n}")
        assert trends.run_trends(engine, config, "w1", NOW) == 1
        ((_subject, message),) = _trend_alerts(database_url)
        assert message["sources"] == 3
    finally:
        engine.dispose()


def test_a_steady_level_gives_no_trend_alert(tmp_path: Path, database_url: str) -> None:
    config = _config(tmp_path, database_url)
    engine = engine_at_head(database_url)
    try:
        _steady(engine, add_feed(engine))
        for k in range(24):  # a whole day of job periods
            assert trends.run_trends(engine, config, "w1", NOW + timedelta(minutes=5 * k)) == 0
        assert _trend_alerts(database_url) == []
    finally:
        engine.dispose()


def test_trends_can_be_switched_off_per_watchlist(tmp_path: Path, database_url: str) -> None:
    config = _config(tmp_path, database_url, trends={"enabled": False})
    engine = engine_at_head(database_url)
    try:
        feed = add_feed(engine)
        _steady(engine, feed)
        add_scored(engine, feed, [NOW - timedelta(minutes=k) for k in range(20)], actors=[LAVROV], prefix="s")
        assert trends.run_trends(engine, config, "w1", NOW) == 0
    finally:
        engine.dispose()


def test_retention_prunes_old_rows_but_keeps_alerts_still_waiting_for_delivery(database_url: str) -> None:
    engine = engine_at_head(database_url)
    old, recent = NOW - timedelta(days=40), NOW - timedelta(days=1)
    try:
        feed = add_feed(engine)
        delivered_item, pending_item, bare_item = add_scored(engine, feed, [old, old, old], story_id="old")
        (fresh_item,) = add_scored(engine, feed, [recent], story_id="fresh", prefix="f")
        with engine.begin() as c:
            c.execute(insert(StoryRow), [
                {"id": "old", "first_seen": old, "last_seen": old, "title": "old", "sources": [], "best_score": 6.0},
                {"id": "fresh", "first_seen": recent, "last_seen": recent, "title": "new", "sources": [],
                 "best_score": 6.0}])
            for item, status in ((delivered_item, "delivered"), (pending_item, "pending"), (fresh_item, "delivered")):
                created = recent if item == fresh_item else old
                alert = c.execute(insert(AlertRow).values(
                    dedup_key=f"k{item}", item_id=item, watchlist="escalation", severity=2, score=6.0, message={},
                    status=status, created_at=created, subject=f"story:{item}", kind="story_first",
                ).returning(AlertRow.id)).scalar_one()
                c.execute(insert(DeliveryRow).values(alert_id=alert, channel="desk", status=status,
                                                     next_attempt_at=created, done_urls=[]))

        counts = retention.run_retention(engine, 30 * 86400.0, "w1", NOW)
        assert counts is not None and counts["alerts"] == 1 and counts["deliveries"] == 1
        assert counts["items"] == 2 and counts["stories"] == 1
        assert retention.run_retention(engine, 30 * 86400.0, "w2", NOW + timedelta(hours=1)) is None  # once a day

        assert sorted(query(database_url, "select item_id, status from alerts")) == [
            (pending_item, "pending"), (fresh_item, "delivered")]
        assert sorted(r[0] for r in query(database_url, "select id from items")) == [pending_item, fresh_item]
        assert sorted(r[0] for r in query(database_url, "select item_id from scores")) == [pending_item, fresh_item]
        assert query(database_url, "select id from stories") == [("fresh",)]
        assert bare_item not in [r[0] for r in query(database_url, "select id from items")]
    finally:
        engine.dispose()
