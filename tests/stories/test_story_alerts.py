"""One alert per story through the real refresh path: feeds on loopback, the real database (SQLite file, or
PostgreSQL with MONITOR_TEST_DB=postgresql), deliveries counted at a json:// webhook."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.usecases import story_alerts
from monitor.usecases.story_cache import StoryCache
from tests.alerts.helpers import Clock
from tests.stories.helpers import escalation, many_feeds, webhook_channel
from tests.support.db import query
from tests.support.servers import HttpServer, WebhookReceiver

WIRE = [("wire-1", "NATO war games begin on the eastern flank as allies mass troops",
         "http://wire.invalid/nato-war-games")]


def _messages(url: str) -> list[tuple[str, dict[str, Any]]]:
    rows = query(url, "select kind, message from alerts order by id")
    return [(kind, message if isinstance(message, dict) else json.loads(message)) for kind, message in rows]


def test_the_same_item_through_twenty_feeds_gives_one_alert_and_two_updates(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    s = many_feeds(tmp_path, feed_server, database_url, 20, WIRE, webhook_channel(webhook.port))
    try:
        outcomes = s.poll()
        assert sorted(o.new_items for o in outcomes) == [1] * 20
        s.deliver()
        assert query(database_url, "select count(distinct story_id), count(*) from items") == [(1, 20)]
        alerts = _messages(database_url)
        assert [kind for kind, _ in alerts] == ["story_first", "story_update", "story_update"]
        assert [m["sources"] for _, m in alerts] == [1, 5, 20]
        assert "20 sources" in alerts[-1][1]["summary"]
        corroboration = [c for c in alerts[-1][1]["contributions"] if c["kind"] == "corroboration"]
        assert corroboration and corroboration[0]["term"] == "20 sources"
        assert len(webhook.accepted("/desk")) == 3  # one message per alert, nothing for the other 17 copies
        (story,) = query(database_url, "select id, sources, best_score from stories")
        assert len(story[1] if isinstance(story[1], list) else json.loads(story[1])) == 20
        assert query(database_url, "select alerts, step, sources from story_alerts") == [(3, 20, 20)]

        s.clock.advance(600)  # the feeds again: nothing new, nothing more
        s.poll()
        assert len(_messages(database_url)) == 3
    finally:
        s.close()


def test_a_restarted_process_rebuilds_the_index_and_keeps_the_story(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str) -> None:
    s = many_feeds(tmp_path, feed_server, database_url, 3, WIRE, webhook_channel(webhook.port))
    try:
        s.poll()
        first = query(database_url, "select distinct story_id from items")
        tracker = StoryCache()
        assert tracker.load(s.rt.engine, s.clock(), 48 * 3600.0) == 3
        # a copy from a fourth outlet, filed by a fresh index rebuilt from the database, joins the same story
        assignment = tracker.index.add("new", title=WIRE[0][1], summary="", source="Outlet 9", at=s.clock())
        assert [(assignment.story_id,)] == first and assignment.sources_count == 4
    finally:
        s.close()


@pytest.mark.parametrize(("enabled", "expected"), [(True, ["story_first", "story_update", "deescalation"]),
                                                  (False, ["story_first", "story_update"])])
def test_de_escalation_notice_when_enabled_and_none_by_default(
        tmp_path: Path, feed_server: HttpServer, webhook: WebhookReceiver, database_url: str, enabled: bool,
        expected: list[str]) -> None:
    extra = {"stories": {"deescalation": True, "window": "2h"}} if enabled else {}
    clock = Clock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    s = many_feeds(tmp_path, feed_server, database_url, 5, WIRE, webhook_channel(webhook.port), clock=clock,
                   watchlist=escalation(["desk"], **extra))
    try:
        s.poll()
        assert story_alerts.sweep(s.rt.engine, s.rt.config, s.rt.story_cache, clock()) == 0  # still fresh
        later = clock() + timedelta(hours=30)  # past both the 2h and the default 24h coverage
        assert story_alerts.sweep(s.rt.engine, s.rt.config, s.rt.story_cache, later) == (1 if enabled else 0)
        assert story_alerts.sweep(s.rt.engine, s.rt.config, s.rt.story_cache, later + timedelta(hours=1)) == 0  # once
        assert [kind for kind, _ in _messages(database_url)] == expected
        if enabled:
            notice = _messages(database_url)[-1][1]
            assert notice["summary"].startswith("De-escalation: coverage fell to 0 sources")
            clock.now = later + timedelta(hours=1)
            s.deliver()
            assert len(webhook.accepted("/desk")) == 3
    finally:
        s.close()
