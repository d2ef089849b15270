"""Feed health for operators: is a feed failing, silent or gone, and what one notice says about it. Pure.

The operator hears about a change of state once (failing, silent, gone, then recovered), never once per poll:
the feed row keeps both the assessed state and the last state that was successfully notified.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.core.cadence import is_silent

OK, FAILING, SILENT, GONE = "ok", "failing", "silent", "gone"


@dataclass(frozen=True)
class HealthRules:
    failures: int = 5  # consecutive failures before a feed counts as failing
    silence_factor: float = 10.0  # silent after this many typical publishing gaps without a new item
    min_silence: float = 86400.0  # and never sooner than this (seconds)


@dataclass(frozen=True)
class FeedState:
    """What the assessment needs from a feed row."""

    name: str
    url: str
    status: str  # active, gone, ...
    consecutive_failures: int
    last_error: str | None
    last_success_at: datetime | None
    last_new_item_at: datetime | None
    cadence: float | None


def assess(feed: FeedState, now: datetime, rules: HealthRules) -> str:
    if feed.status == GONE:
        return GONE
    if feed.consecutive_failures >= rules.failures:
        return FAILING
    if is_silent(now, feed.last_new_item_at, feed.cadence, factor=rules.silence_factor, minimum=rules.min_silence):
        return SILENT
    return OK


@dataclass(frozen=True)
class Notice:
    subject: str
    text: str


def notice(feed: FeedState, state: str, previous: str, now: datetime) -> Notice:
    """One message to the ops channel about a change from `previous` to `state`."""
    when = now.strftime("%Y-%m-%d %H:%M UTC")
    last_ok = feed.last_success_at.strftime("%Y-%m-%d %H:%M UTC") if feed.last_success_at else "never"
    last_new = feed.last_new_item_at.strftime("%Y-%m-%d %H:%M UTC") if feed.last_new_item_at else "never"
    if state == FAILING:
        headline = f"feed {feed.name} is failing: {feed.consecutive_failures} consecutive failures"
    elif state == SILENT:
        headline = f"feed {feed.name} is silent: no new item since {last_new}"
    elif state == GONE:
        headline = f"feed {feed.name} is gone (HTTP 410) and has been disabled"
    else:
        headline = f"feed {feed.name} has recovered (was {previous})"
    lines = [headline, "", f"URL: {feed.url}", f"Last success: {last_ok}", f"Last new item: {last_new}"]
    if feed.cadence:
        lines.append(f"Usual publishing gap: {_duration(feed.cadence)}")
    if state != OK and feed.last_error:
        lines.append(f"Last error: {feed.last_error}")
    lines.append(f"Checked: {when}")
    return Notice(subject=f"[monitor] {headline}", text="\n".join(lines))


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def feed_state(enabled: bool, status: str, health: str, failures: int) -> str:
    """One word for a feed's health, the same in `monitor feeds`, /api/feeds, the page and /metrics:
    `failing` only past `health.failures` consecutive failures (what the ops channel was told), `retrying`
    below that, `silent` when nothing new came for too long, `gone` after a 410, `disabled`, else `ok`."""
    if not enabled:
        return "disabled"
    if GONE in (status, health):
        return GONE
    if health == FAILING:
        return FAILING
    if failures:
        return "retrying"
    return SILENT if health == SILENT else OK
