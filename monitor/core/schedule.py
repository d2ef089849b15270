"""When to poll a feed next, and when to retry a delivery. Pure: `now` and randomness are passed in."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def next_poll(now: datetime, *, interval: float, min_interval: float, max_interval: float, failures: int = 0,
              retry_after: float | None = None, floor: float | None = None,
              rng: random.Random | None = None) -> datetime:
    """Success: the interval within bounds, never sooner than the feed asks (`floor`: ttl, max-age).
    Failure: exponential backoff from the interval with +-20% jitter, capped at max_interval,
    never sooner than the server's Retry-After."""
    rng = rng or random.Random()
    delay = min(max(interval, min_interval), max_interval)
    if floor:
        delay = max(delay, min(floor, max_interval))
    if failures > 0:
        delay = min(max_interval, delay * 2 ** min(failures - 1, 20)) * rng.uniform(0.8, 1.2)
    if retry_after is not None:
        delay = max(delay, min(retry_after, max_interval))
    return now + timedelta(seconds=delay)


def retry_delay(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delivery backoff after `attempt` failures: base * 2^(attempt-1), full jitter in the upper half."""
    rng = rng or random.Random()
    ceiling = min(cap, base * 2 ** min(max(attempt - 1, 0), 30))
    return rng.uniform(ceiling / 2, ceiling)
