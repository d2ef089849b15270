from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.clustering import StoryIndex
from monitor.core.corroboration import CorroborationPolicy, corroborated, corroboration, step_reached
from monitor.core.rules import channels_for
from monitor.core.story_rules import (
    StoryAlertKind,
    StoryAlertState,
    StoryDecision,
    StoryItem,
    StoryLevel,
    StoryPolicy,
    alert_floor,
    decide,
    story_alert_key,
    story_level,
)
from monitor.domain import Contribution, NotifyRule, Score, Severity, Watchlist

T0 = datetime(2026, 2, 17, 6, 0, tzinfo=UTC)
WATCHLIST = Watchlist(
    "gulf", severities=((Severity.WATCH, 4.0), (Severity.WARNING, 8.0), (Severity.CRITICAL, 12.0)),
    notify=(NotifyRule(("ops",), Severity.WARNING), NotifyRule(("desk",), Severity.CRITICAL)))


def item_score(value: float) -> Score:
    return Score("gulf", value, WATCHLIST.severity_for(value), (Contribution("keyword", "strike", (0, 6), value),))


# --- corroboration ---


@pytest.mark.parametrize(("sources", "value"), [(0, 0.0), (1, 0.0), (2, 1.5), (4, 3.0), (5, 3.483), (16, 6.0),
                                                 (20, 6.0)])
def test_corroboration_grows_by_doubling_and_is_capped(sources: int, value: float) -> None:
    contribution = corroboration(sources)
    assert contribution.kind == "corroboration" and contribution.span == (0, 0)
    assert contribution.value == value
    assert contribution.term == ("1 source" if sources == 1 else f"{sources} sources")


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.floats(0, 10), st.floats(0, 50))
def test_corroboration_is_monotonic_and_bounded(a: int, b: int, weight: float, cap: float) -> None:
    policy = CorroborationPolicy(weight=weight, cap=cap)
    low, high = sorted((a, b))
    assert 0 <= corroboration(low, policy).value <= corroboration(high, policy).value <= cap + 1e-9


def test_steps_reached() -> None:
    assert [step_reached(n) for n in (1, 4, 5, 19, 20, 500)] == [0, 0, 5, 5, 20, 20]
    with pytest.raises(ValueError, match="ascending"):
        CorroborationPolicy(steps=(20, 5))


def test_corroborated_score_is_explained_and_amplifies_only_what_scores() -> None:
    score = corroborated(item_score(6.5), 4, WATCHLIST)
    assert score.value == 9.5 and score.severity is Severity.WARNING
    assert score.contributions[-1] == Contribution(
        "corroboration", "4 sources", (0, 0), 3.0, "+1.5 per doubling of distinct sources, at most 6")
    assert corroborated(Score("gulf", 0.0, Severity.NONE), 20, WATCHLIST).value == 0.0


# --- levels and decisions ---


def test_alert_floor_is_the_lowest_notify_rule() -> None:
    assert alert_floor(WATCHLIST) is Severity.WARNING
    assert alert_floor(Watchlist("quiet")) is None


def test_story_level_counts_only_the_coverage_window() -> None:
    items = [StoryItem(T0, "a", item_score(9.0)), StoryItem(T0 + timedelta(hours=5), "b", item_score(5.0)),
             StoryItem(T0 + timedelta(hours=6), "c", None)]
    everything = story_level(items, WATCHLIST, since=T0)
    assert everything.sources == 3 and everything.value == pytest.approx(9.0 + corroboration(3).value)
    recent = story_level(items, WATCHLIST, since=T0 + timedelta(hours=1))
    assert recent.sources == 2 and recent.value == 6.5 and recent.severity is Severity.WATCH
    assert story_level(items, WATCHLIST, since=T0 + timedelta(days=1)) == StoryLevel(None, 0)


def test_the_same_item_through_twenty_feeds_gives_one_alert_and_its_updates() -> None:
    """Service-like loop over the pure pieces: file each copy, score it, level the story, decide."""
    index, policy = StoryIndex(), StoryPolicy(floor=Severity.WARNING)
    state, items, decisions = StoryAlertState(), [], []
    for n in range(20):
        at = T0 + timedelta(minutes=n)
        assignment = index.add(f"{n}", title="Iran closes the Strait of Hormuz during talks with the US",
                               summary="Live-fire drills, state media say.", source=f"feed-{n}", at=at)
        index.record_score(f"{n}", item_score(6.5))
        items.append(StoryItem(at, f"feed-{n}", item_score(6.5)))
        assert assignment.story_id == "0"
        decision = decide(state, story_level(items, WATCHLIST, since=at - policy.coverage), policy)
        if decision:
            decisions.append((n + 1, decision))
            state = decision.state
    summary = [(sources, d.kind, d.severity, d.reasons) for sources, d in decisions]
    assert summary == [
        (2, StoryAlertKind.FIRST, Severity.WARNING, ("reached warning",)),
        (5, StoryAlertKind.UPDATE, Severity.WARNING, ("5 sources",)),
        (13, StoryAlertKind.UPDATE, Severity.CRITICAL, ("rose to critical",)),  # 6.5 + 1.5 * log2(13)
        (20, StoryAlertKind.UPDATE, Severity.CRITICAL, ("20 sources",)),
    ]
    keys = [story_alert_key("gulf", "0", d) for _, d in decisions]
    assert keys == ["gulf:story:0:1", "gulf:story:0:2", "gulf:story:0:3", "gulf:story:0:4"]
    assert [d.threaded for _, d in decisions] == [False, True, True, True]
    critical = Score("gulf", 12.5, decisions[2][1].notify)
    assert channels_for(WATCHLIST, critical) == ("ops", "desk")


def test_further_copies_at_the_same_level_say_nothing() -> None:
    first = decide(StoryAlertState(), StoryLevel(item_score(9.0), 3), StoryPolicy())
    assert first is not None and first.kind is StoryAlertKind.FIRST
    assert decide(first.state, StoryLevel(item_score(9.0), 4), StoryPolicy()) is None
    assert decide(first.state, StoryLevel(item_score(8.5), 3), StoryPolicy()) is None


def test_below_the_floor_nothing_goes_out() -> None:
    assert decide(StoryAlertState(), StoryLevel(item_score(5.0), 30), StoryPolicy(floor=Severity.WARNING)) is None
    assert decide(StoryAlertState(), StoryLevel(None, 30), StoryPolicy()) is None


def _alerted(severity: Severity = Severity.WARNING, sources: int = 6) -> StoryAlertState:
    return StoryAlertState(severity, 5, sources, 2)


def test_a_fading_story_gets_one_deescalation_notice_when_enabled() -> None:
    policy = StoryPolicy(deescalation=True)
    faded = StoryLevel(item_score(5.0), 1)
    notice = decide(_alerted(), faded, policy)
    assert notice is not None and notice.kind is StoryAlertKind.DEESCALATION
    assert notice.notify is Severity.WARNING and notice.severity is Severity.WATCH and notice.threaded
    assert notice.reasons == ("coverage fell to 1 source and the score below warning",)
    assert notice.state.deescalated and notice.state.alerts == 3
    assert decide(notice.state, faded, policy) is None
    assert decide(notice.state, StoryLevel(None, 0), policy) is None
    back = decide(notice.state, StoryLevel(item_score(9.0), 2), policy)
    assert back is not None and back.kind is StoryAlertKind.UPDATE and back.reasons == ("back up to warning",)
    assert not back.state.deescalated


def test_deescalation_is_off_by_default_and_needs_both_score_and_coverage_to_fall() -> None:
    faded = StoryLevel(item_score(5.0), 1)
    assert decide(_alerted(), faded, StoryPolicy()) is None
    policy = StoryPolicy(deescalation=True)
    assert decide(_alerted(), StoryLevel(item_score(5.0), 6), policy) is None  # coverage held
    assert decide(_alerted(), StoryLevel(item_score(9.0), 1), policy) is None  # score held


levels = st.builds(StoryLevel, st.one_of(st.none(), st.floats(0.1, 20).map(item_score)), st.integers(0, 40))


@given(st.lists(levels, max_size=30), st.booleans())
def test_decisions_count_alerts_and_never_repeat_a_first(sequence: list[StoryLevel], deescalation: bool) -> None:
    policy = StoryPolicy(deescalation=deescalation)
    state = StoryAlertState()
    decisions: list[StoryDecision] = []
    for level in sequence:
        decision = decide(state, level, policy)
        if decision:
            decisions.append(decision)
            assert decision.state.alerts == state.alerts + 1
            assert decide(decision.state, level, policy) is None  # the same level twice alerts once
            state = decision.state
    assert [d.kind for d in decisions].count(StoryAlertKind.FIRST) == (1 if decisions else 0)
    assert not decisions or decisions[0].kind is StoryAlertKind.FIRST
