"""Trends: is a watchlist, or an actor on it, suddenly in far more escalation-scored items than usual? Pure.

The count in the last `window` is compared with the same window at the same hour of the week over past weeks
(news has a weekly rhythm), or, while history is shorter than `min_weeks` weeks, at the same hour of past days.
An alert needs `min_count` items (a quiet actor's first mentions are not a spike) and either `ratio` times the
baseline mean or a z-score of `z`. Weeks and days are 7x24 and 24 hours of UTC.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from monitor.domain import Score

WEEK, DAY = timedelta(days=7), timedelta(days=1)


@dataclass(frozen=True, slots=True)
class TrendPolicy:
    window: timedelta = timedelta(hours=1)
    weeks: int = 4  # past weeks in the weekly baseline
    min_weeks: int = 2  # fewer weeks of history: fall back to past days
    days: int = 7  # past days in the daily baseline
    min_days: int = 3  # fewer days of history: no baseline, no trend alert
    min_count: int = 5
    ratio: float = 3.0  # count / baseline mean (a mean below one item counts as one)
    z: float = 3.0  # (count - mean) / stdev, the stdev at least sqrt(mean) as for Poisson counts
    cooldown: timedelta = timedelta(hours=6)  # between two trend alerts of one subject

    def __post_init__(self) -> None:
        if self.window <= timedelta(0) or self.window > DAY:
            raise ValueError("trend window must be positive and at most a day")
        if not 1 <= self.min_weeks <= self.weeks or not 1 <= self.min_days <= self.days:
            raise ValueError("trend history needs 1 <= min_weeks <= weeks and 1 <= min_days <= days")
        if self.min_count < 1 or self.ratio <= 1 or self.z <= 0:
            raise ValueError("trend min_count must be >= 1, ratio > 1 and z > 0")


DEFAULT_TREND = TrendPolicy()


@dataclass(frozen=True, slots=True)
class Baseline:
    basis: Literal["weekly", "daily"]
    samples: tuple[int, ...]  # counts in the same window 1, 2, ... periods ago

    @property
    def mean(self) -> float:
        return statistics.fmean(self.samples)

    @property
    def stdev(self) -> float:
        # The population deviation of whole counts from exact integer sums. statistics.pstdev rounds once where this
        # rounds twice (they may differ in the last bit), through Fractions, 20 times slower: a replay asks thousands.
        n, total = len(self.samples), sum(self.samples)
        return math.sqrt(n * sum(x * x for x in self.samples) - total * total) / n

    def describe(self) -> str:
        n = len(self.samples)
        unit = ("week" if n == 1 else "weeks") if self.basis == "weekly" else ("day" if n == 1 else "days")
        return f"same hour, {n} past {unit}"


@dataclass(frozen=True, slots=True)
class TrendSubject:
    key: str  # stable: "russia-nato" or "russia-nato/Sergei Lavrov"
    label: str  # for people: "russia-nato" or "Sergei Lavrov + escalation"
    watchlist: str


@dataclass(frozen=True, slots=True)
class TrendDecision:
    subject: TrendSubject
    count: int
    baseline: Baseline | None  # None: not enough history to tell
    ratio: float
    z: float
    alert: bool
    explanation: str


def subjects(score: Score) -> tuple[TrendSubject, ...]:
    """What an escalation-scored item counts towards: its watchlist, and each actor it names.
    Escalation-scored: a positive score with at least one escalation term."""
    if score.value <= 0 or not score.terms:
        return ()
    whole = TrendSubject(score.watchlist, f"{score.watchlist} escalation", score.watchlist)
    actors = (TrendSubject(f"{score.watchlist}/{a}", f"{a} + escalation", score.watchlist) for a in score.actors)
    return (whole, *actors)


def trend(times: Sequence[datetime], subject: TrendSubject, *, now: datetime, history_start: datetime,
          policy: TrendPolicy = DEFAULT_TREND, presorted: bool = False) -> TrendDecision:
    """`times`: when each escalation-scored item of the subject was seen, covering at least
    [now - policy.weeks weeks - window, now]; `history_start`: since when such items are on record (a window
    before it is unknown, not empty). `presorted`: the caller keeps `times` in order (a replay appends them as
    it goes), so the check, a pass over every time at every call, is skipped."""
    ordered = times if presorted or all(a <= b for a, b in pairwise(times)) else sorted(times)
    count = _count(ordered, now, policy.window)
    base = baseline(ordered, now=now, history_start=history_start, policy=policy)
    span = _span(policy.window)
    if base is None:
        return TrendDecision(subject, count, None, 0.0, 0.0, False,
                             f"{subject.label}: {count} items in the last {span}, no baseline yet")
    mean = base.mean
    ratio = count / max(mean, 1.0)
    z = (count - mean) / max(base.stdev, math.sqrt(max(mean, 1.0)))
    alert = count >= policy.min_count and (ratio >= policy.ratio or z >= policy.z)
    explanation = f"{subject.label}: {count} items in the last {span}, baseline {mean:.1f} ({base.describe()})"
    return TrendDecision(subject, count, base, round(ratio, 2), round(z, 2), alert, explanation)


def baseline(times: Sequence[datetime], *, now: datetime, history_start: datetime,
             policy: TrendPolicy = DEFAULT_TREND) -> Baseline | None:
    """Counts in the same window of past weeks, else of past days; None while history is too short."""
    bases: tuple[tuple[Literal["weekly", "daily"], timedelta, int, int], ...] = (
        ("weekly", WEEK, policy.weeks, policy.min_weeks), ("daily", DAY, policy.days, policy.min_days))
    for basis, period, most, least in bases:
        ends = [now - k * period for k in range(1, most + 1) if now - k * period - policy.window >= history_start]
        if len(ends) >= least:
            return Baseline(basis, tuple(_count(times, end, policy.window) for end in ends))
    return None


def alert_due(decision: TrendDecision, last_alert: datetime | None, now: datetime,
              policy: TrendPolicy = DEFAULT_TREND) -> bool:
    """One alert per surge: an alerting decision goes out unless the subject alerted within the cooldown."""
    return decision.alert and (last_alert is None or now - last_alert >= policy.cooldown)


def trend_alert_key(subject: TrendSubject, now: datetime) -> str:
    return f"{subject.watchlist}:trend:{subject.key}:{now:%Y%m%dT%H%M}"


def _count(times: Sequence[datetime], end: datetime, window: timedelta) -> int:
    """Items in (end - window, end]."""
    return bisect_right(times, end) - bisect_right(times, end - window)


def _span(window: timedelta) -> str:
    minutes = int(window.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "hour" if hours == 1 else f"{hours} hours"
