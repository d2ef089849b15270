from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.trends import (
    TrendDecision,
    TrendPolicy,
    TrendSubject,
    alert_due,
    baseline,
    subjects,
    trend,
    trend_alert_key,
)
from monitor.domain import Score, Severity

NOW = datetime(2026, 2, 17, 15, 0, tzinfo=UTC)  # a Tuesday
START = NOW - timedelta(weeks=5)
LAVROV = TrendSubject("russia-nato/Sergei Lavrov", "Lavrov + escalation", "russia-nato")


def steady(start: datetime, end: datetime, per_hour: tuple[int, int], seed: int = 1) -> list[datetime]:
    """A steady level: each hour between per_hour[0] and per_hour[1] items at random minutes."""
    rng = random.Random(seed)
    times, hour = [], start.replace(minute=0, second=0, microsecond=0)
    while hour < end:
        times += [hour + timedelta(minutes=rng.uniform(0, 60)) for _ in range(rng.randint(*per_hour))]
        hour += timedelta(hours=1)
    return sorted(t for t in times if start <= t <= end)


def burst(start: datetime, n: int, over: timedelta) -> list[datetime]:
    return [start + over * (i / n) for i in range(n)]


def run_day(times: list[datetime], *, every: timedelta = timedelta(minutes=10)) -> list[TrendDecision]:
    """Evaluate like a scheduler would, on the day before NOW, with the one-alert-per-surge gate."""
    sent: list[TrendDecision] = []
    last: datetime | None = None
    at = NOW - timedelta(days=1)
    while at <= NOW:
        seen = [t for t in times if t <= at]
        decision = trend(seen, LAVROV, now=at, history_start=START)
        if alert_due(decision, last, at):
            sent.append(decision)
            last = at
        at += every
    return sent


def test_a_steady_level_yields_no_trend_alert() -> None:
    assert run_day(steady(START, NOW, (4, 10))) == []


def test_a_surge_about_one_actor_yields_one_trend_alert_with_an_explanation() -> None:
    history = steady(START, NOW, (0, 3))
    surge = burst(NOW - timedelta(hours=5), 40, timedelta(hours=2))
    sent = run_day(sorted(history + surge))
    assert len(sent) == 1
    decision = sent[0]
    assert decision.baseline is not None and decision.baseline.basis == "weekly"
    assert decision.count >= 5 and (decision.ratio >= 3 or decision.z >= 3)
    assert decision.explanation.startswith(f"Lavrov + escalation: {decision.count} items in the last hour, baseline ")
    assert decision.explanation.endswith("(same hour, 4 past weeks)")


def test_the_weekly_baseline_knows_a_weekly_rhythm() -> None:
    tuesday_briefings = [NOW - timedelta(weeks=k, minutes=30) + timedelta(seconds=s) for k in range(5)
                         for s in range(0, 1200, 60)]  # 20 items every Tuesday at 14:30
    times = sorted(steady(START, NOW, (0, 2)) + tuesday_briefings)
    weekly = trend(times, LAVROV, now=NOW, history_start=START)
    assert weekly.count >= 20 and not weekly.alert
    daily = trend(times, LAVROV, now=NOW, history_start=NOW - timedelta(days=6))
    assert daily.baseline is not None and daily.baseline.basis == "daily" and daily.alert


def test_short_history_falls_back_to_days_then_to_no_baseline() -> None:
    times = steady(START, NOW, (1, 2))
    five_days = baseline(times, now=NOW, history_start=NOW - timedelta(days=5, hours=2))
    assert five_days is not None and five_days.basis == "daily" and len(five_days.samples) == 5
    assert baseline(times, now=NOW, history_start=NOW - timedelta(days=2)) is None
    decision = trend(times + burst(NOW - timedelta(minutes=30), 50, timedelta(minutes=20)), LAVROV, now=NOW,
                     history_start=NOW - timedelta(days=2))
    assert not decision.alert and decision.explanation.endswith("no baseline yet")


def test_a_quiet_actors_first_mentions_are_not_a_spike() -> None:
    first = burst(NOW - timedelta(minutes=40), 4, timedelta(minutes=30))
    decision = trend(first, LAVROV, now=NOW, history_start=START)
    assert decision.baseline is not None and decision.baseline.mean == 0.0
    assert decision.count == 4 and decision.ratio == 4.0 and not decision.alert


def test_unsorted_times_are_fine() -> None:
    times = steady(START, NOW, (1, 3)) + burst(NOW - timedelta(minutes=50), 12, timedelta(minutes=40))
    shuffled = times[:]
    random.Random(2).shuffle(shuffled)
    assert trend(shuffled, LAVROV, now=NOW, history_start=START) == trend(times, LAVROV, now=NOW,
                                                                          history_start=START)


def test_subjects_are_the_watchlist_and_its_named_actors() -> None:
    score = Score("russia-nato", 7.0, Severity.WATCH, actors=("Sergei Lavrov", "NATO"), terms=("escalation",))
    assert [s.key for s in subjects(score)] == ["russia-nato", "russia-nato/Sergei Lavrov", "russia-nato/NATO"]
    assert subjects(score)[1].label == "Sergei Lavrov + escalation"
    assert subjects(Score("russia-nato", 2.0, Severity.NONE, actors=("NATO",))) == ()  # no escalation term


def test_alert_key_and_cooldown() -> None:
    decision = trend(burst(NOW - timedelta(minutes=30), 30, timedelta(minutes=20)), LAVROV, now=NOW,
                     history_start=START)
    assert decision.alert
    assert alert_due(decision, None, NOW) and not alert_due(decision, NOW - timedelta(hours=1), NOW)
    assert alert_due(decision, NOW - timedelta(hours=6), NOW)
    assert trend_alert_key(LAVROV, NOW) == "russia-nato:trend:russia-nato/Sergei Lavrov:20260217T1500"


def test_policy_is_validated() -> None:
    with pytest.raises(ValueError, match="window"):
        TrendPolicy(window=timedelta(0))
    with pytest.raises(ValueError, match="min_weeks"):
        TrendPolicy(min_weeks=5, weeks=4)


minutes_ago = st.lists(st.integers(0, 5 * 7 * 24 * 60), max_size=300)


@given(minutes_ago, st.integers(0, 40))
def test_more_items_now_never_turn_an_alert_off(history: list[int], extra: int) -> None:
    times = sorted(NOW - timedelta(minutes=m) for m in history)
    before = trend(times, LAVROV, now=NOW, history_start=START)
    more = sorted(times + [NOW - timedelta(minutes=30)] * extra)
    after = trend(more, LAVROV, now=NOW, history_start=START)
    assert after.count == before.count + extra
    assert after.alert >= before.alert
    assert after.baseline == before.baseline
