"""When to poll a feed next, and when to retry a delivery. Pure: `now` and randomness are passed in."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

SUCCESS_JITTER = 0.1  # +-10% spreads feeds that were added together, so they stop arriving in bursts
FAILURE_JITTER = 0.25  # backoff lands in [75%, 100%] of its step: retries of one outage do not synchronise
RETRY_AFTER_CAP = 7 * 86400.0  # a server's Retry-After is obeyed, but a garbage value must not park a feed for years


def success_delay(interval: float, *, min_interval: float, max_interval: float, floor: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Seconds until the next poll after a success: the interval within bounds, jittered, never sooner than
    the feed asks (`floor`: its <ttl>, sy:updatePeriod or Cache-Control max-age), never past max_interval."""
    rng = rng or random.Random()
    delay = _clamp(interval, min_interval, max_interval) * rng.uniform(1 - SUCCESS_JITTER, 1 + SUCCESS_JITTER)
    if floor:
        delay = max(delay, floor)
    return _clamp(delay, min_interval, max_interval)


def failure_delay(interval: float, failures: int, *, min_interval: float, max_interval: float,
                  retry_after: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds until the retry after `failures` consecutive failures (>= 1): the interval doubled per failure,
    jittered downwards, within [min_interval, max_interval]. A server's Retry-After wins when it asks for
    more (it is the server's call, not our backoff), up to RETRY_AFTER_CAP."""
    rng = rng or random.Random()
    step = _clamp(interval, min_interval, max_interval) * 2 ** min(max(failures - 1, 0), 30)
    delay = _clamp(min(step, max_interval) * rng.uniform(1 - FAILURE_JITTER, 1.0), min_interval, max_interval)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP))
    return delay


def next_poll(now: datetime, *, interval: float, min_interval: float, max_interval: float, failures: int = 0,
              retry_after: float | None = None, floor: float | None = None,
              rng: random.Random | None = None) -> datetime:
    """The next poll time: `success_delay` when failures == 0, else `failure_delay`."""
    if failures > 0:
        delay = failure_delay(interval, failures, min_interval=min_interval, max_interval=max_interval,
                              retry_after=retry_after, rng=rng)
    else:
        delay = success_delay(interval, min_interval=min_interval, max_interval=max_interval, floor=floor, rng=rng)
    return now + timedelta(seconds=delay)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high)) if low <= high else high


def retry_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delivery backoff after `attempt` failures: base * 2^(attempt-1), full jitter in the upper half."""
    rng = rng or random.Random()
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 30))
    return rng.uniform(ceiling / 2, ceiling)
