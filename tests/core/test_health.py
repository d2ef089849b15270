"""Feed health states and the notice an operator reads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from monitor.core.health import FAILING, GONE, OK, SILENT, FeedState, HealthRules, assess, feed_state, notice

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
FEED = FeedState(name="World Desk", url="https://example.org/rss", status="active", consecutive_failures=0,
                 last_error=None, last_success_at=NOW, last_new_item_at=NOW - timedelta(hours=1), cadence=3600)
RULES = HealthRules(failures=5, silence_factor=10, min_silence=3600)


def test_states() -> None:
    assert assess(FEED, NOW, RULES) == OK
    assert assess(replace(FEED, consecutive_failures=4), NOW, RULES) == OK
    assert assess(replace(FEED, consecutive_failures=5), NOW, RULES) == FAILING
    assert assess(replace(FEED, last_new_item_at=NOW - timedelta(hours=11)), NOW, RULES) == SILENT
    assert assess(replace(FEED, status="gone", consecutive_failures=9), NOW, RULES) == GONE


def test_notices_say_what_happened() -> None:
    failing = replace(FEED, consecutive_failures=5, last_error="http: HTTP 500 Internal Server Error")
    message = notice(failing, FAILING, OK, NOW)
    assert "World Desk is failing: 5 consecutive failures" in message.subject
    assert "HTTP 500" in message.text and "https://example.org/rss" in message.text
    recovered = notice(FEED, OK, FAILING, NOW)
    assert "recovered (was failing)" in recovered.subject and "Last error" not in recovered.text
    assert "silent" in notice(FEED, SILENT, OK, NOW).subject
    assert "410" in notice(FEED, GONE, OK, NOW).subject


@pytest.mark.parametrize(("enabled", "status", "health_", "failures", "state"), [
    (True, "active", "ok", 0, "ok"), (True, "active", "ok", 2, "retrying"), (True, "active", "failing", 5, "failing"),
    (True, "active", "silent", 0, "silent"), (True, "gone", "gone", 1, "gone"),
    (False, "active", "failing", 9, "disabled"), (True, "active", "silent", 1, "retrying"),
])
def test_one_word_for_a_feed_everywhere(enabled: bool, status: str, health_: str, failures: int, state: str) -> None:
    # `failing` only once the ops channel was told (past polling.health.failures): below that, `retrying`
    assert feed_state(enabled, status, health_, failures) == state
