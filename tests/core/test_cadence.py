"""Adaptive intervals follow the feed's publishing gap, within bounds; silence is relative to that gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.cadence import adaptive_interval, is_silent, publishing_gap

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def every(minutes: float, n: int) -> list[datetime]:
    return [NOW - timedelta(minutes=minutes * i) for i in range(n)]


def test_busy_and_quiet_feeds() -> None:
    busy = publishing_gap(every(5, 30), NOW)
    quiet = publishing_gap(every(60 * 24, 10), NOW)
    assert busy == 300 and quiet == 86400
    assert adaptive_interval(busy, default=600, min_interval=120, max_interval=21600) == 150
    assert adaptive_interval(quiet, default=600, min_interval=120, max_interval=21600) == 21600


def test_unknown_cadence_keeps_the_configured_interval() -> None:
    assert publishing_gap([NOW, NOW - timedelta(hours=1)], NOW) is None  # two dates are no rhythm
    assert publishing_gap([datetime(1970, 1, 1, tzinfo=UTC)] * 30, NOW) is None  # placeholder dates
    assert publishing_gap([NOW + timedelta(days=i) for i in range(1, 5)], NOW) is None  # the future
    assert adaptive_interval(None, default=600, min_interval=120, max_interval=21600) == 600


def test_only_recent_dates_describe_the_cadence() -> None:
    dates = every(10, 20) + [NOW - timedelta(days=400 + i) for i in range(100)]
    assert publishing_gap(dates, NOW) == 600


@given(st.lists(st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2030, 1, 1),
                             timezones=st.just(UTC)), max_size=60),
       st.floats(1, 3600), st.floats(3600, 86400 * 7))
def test_interval_always_within_bounds(dates: list[datetime], low: float, high: float) -> None:
    interval = adaptive_interval(publishing_gap(dates, NOW), default=600, min_interval=low, max_interval=high)
    assert low <= interval <= high


def test_silence_is_relative_to_the_usual_gap() -> None:
    hourly = 3600.0
    assert not is_silent(NOW, NOW - timedelta(hours=5), hourly, factor=10, minimum=3600)
    assert is_silent(NOW, NOW - timedelta(hours=11), hourly, factor=10, minimum=3600)
    assert not is_silent(NOW, NOW - timedelta(hours=11), hourly, factor=10, minimum=86400)  # the floor
    assert not is_silent(NOW, NOW - timedelta(days=300), None, factor=10, minimum=3600)  # unknown cadence
