"""Poll scheduling: bounds, backoff, Retry-After and jitter, as properties and as the table of cases."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.schedule import RETRY_AFTER_CAP, failure_delay, next_poll, success_delay

NOW = datetime(2026, 1, 1, tzinfo=UTC)
bounds = st.tuples(st.floats(1, 3600), st.floats(1, 86400)).map(sorted)
seconds = st.floats(0, 10 * 86400, allow_nan=False)


@given(bounds, seconds, st.integers(1, 10_000), st.integers(0, 2**32))
def test_backoff_never_exceeds_the_max_interval_nor_undercuts_the_min(limits: list[float], interval: float,
                                                                      failures: int, seed: int) -> None:
    low, high = limits
    delay = failure_delay(interval, failures, min_interval=low, max_interval=high, rng=random.Random(seed))
    assert low <= delay <= high


@given(bounds, seconds, st.one_of(st.none(), seconds), st.integers(0, 2**32))
def test_success_delay_stays_within_bounds_even_with_a_floor(limits: list[float], interval: float,
                                                             floor: float | None, seed: int) -> None:
    low, high = limits
    delay = success_delay(interval, min_interval=low, max_interval=high, floor=floor, rng=random.Random(seed))
    assert low <= delay <= high
    if floor is not None and floor <= high:
        assert delay >= floor


@given(bounds, seconds, st.integers(1, 50), seconds, st.integers(0, 2**32))
def test_retry_after_is_never_undercut(limits: list[float], interval: float, failures: int, retry_after: float,
                                       seed: int) -> None:
    low, high = limits
    delay = failure_delay(interval, failures, min_interval=low, max_interval=high, retry_after=retry_after,
                          rng=random.Random(seed))
    assert delay >= min(retry_after, RETRY_AFTER_CAP)
    assert delay <= max(high, min(retry_after, RETRY_AFTER_CAP))


def test_backoff_doubles_per_failure_until_the_cap() -> None:
    delays = [failure_delay(600, n, min_interval=120, max_interval=6 * 3600, rng=random.Random(1))
              for n in range(1, 10)]
    steps = [600 * 2 ** (n - 1) for n in range(1, 10)]
    for delay, step in zip(delays, steps, strict=True):
        assert min(step, 6 * 3600) * 0.75 <= delay <= min(step, 6 * 3600)
    assert delays[-1] >= 6 * 3600 * 0.75


def test_success_resets_the_backoff() -> None:
    at = next_poll(NOW, interval=600, min_interval=120, max_interval=21600, failures=0, rng=random.Random(3))
    assert timedelta(seconds=540) <= at - NOW <= timedelta(seconds=660)


def test_jitter_spreads_feeds() -> None:
    rng = random.Random(7)
    delays = {round(success_delay(600, min_interval=60, max_interval=3600, rng=rng)) for _ in range(20)}
    assert len(delays) > 10
