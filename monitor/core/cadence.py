"""A feed's publishing cadence, and the polling interval that follows from it. Pure: `now` is passed in.

A feed that publishes every few minutes is polled near the minimum interval; one that publishes weekly is
polled near the maximum. The cadence is the typical gap between the feed's own publication dates, which the
document carries: no history has to be kept beyond the last estimate.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

RECENT = 20  # the newest dates that describe how the feed publishes now
OLDEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)  # before RSS: a placeholder date (1970-01-01, year 1)
POLLS_PER_GAP = 2  # poll twice per typical gap: a new item waits a quarter of a gap on average


def publishing_gap(published: Iterable[datetime], now: datetime) -> float | None:
    """Seconds between consecutive publications over the newest RECENT distinct dates, or None when fewer than
    three plausible dates exist (two points say nothing about a rhythm)."""
    dates = sorted({d for d in published if OLDEST_PLAUSIBLE <= d <= now}, reverse=True)[:RECENT]
    if len(dates) < 3:
        return None
    return max((dates[0] - dates[-1]).total_seconds() / (len(dates) - 1), 1.0)


def adaptive_interval(gap: float | None, *, default: float, min_interval: float, max_interval: float) -> float:
    """The polling interval for a feed with this publishing gap; the configured `default` when unknown."""
    wanted = default if gap is None else gap / POLLS_PER_GAP
    return max(min_interval, min(wanted, max_interval))


def is_silent(now: datetime, last_new_item_at: datetime | None, gap: float | None, *, factor: float,
              minimum: float) -> bool:
    """Silent: nothing new for `factor` typical gaps, and at least `minimum` seconds. Unknown cadence: never."""
    if gap is None or last_new_item_at is None:
        return False
    return (now - last_new_item_at).total_seconds() > max(factor * gap, minimum)
