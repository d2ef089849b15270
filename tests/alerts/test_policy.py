"""The pure flood-control rules: table-driven cases and properties (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.policy import (
    ChannelPolicy,
    Due,
    Prior,
    QuietHours,
    RateLimit,
    fallback_active,
    plan,
    quiet_until,
    should_alert,
)
from monitor.domain import Severity

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LIMIT = ChannelPolicy(rate_limit=RateLimit(messages=10, per=60), summary_size=25)


def due(n: int, severity: Severity = Severity.WARNING, **kw: object) -> list[Due]:
    return [Due(i + 1, i + 1, severity, NOW - timedelta(seconds=n - i), **kw) for i in range(n)]  # type: ignore[arg-type]


def test_within_the_limit_each_alert_is_its_own_message() -> None:
    p = plan(due(3), LIMIT, now=NOW)
    assert [s.kind for s in p.sends] == ["alert"] * 3 and not p.deferred


def test_over_the_limit_alerts_become_summaries() -> None:
    p = plan(due(40), LIMIT, now=NOW, recent=[NOW - timedelta(seconds=5)] * 8)
    assert [s.kind for s in p.sends] == ["summary", "summary"]
    assert sum(len(s.items) for s in p.sends) == 40


def test_a_full_window_defers_until_the_oldest_message_leaves_it() -> None:
    recent = [NOW - timedelta(seconds=50 - i) for i in range(10)]
    p = plan(due(2), LIMIT, now=NOW, recent=recent)
    assert not p.sends and len(p.deferred) == 2
    assert p.resume_at == recent[0] + timedelta(seconds=60)


def test_retry_after_pauses_the_channel() -> None:
    p = plan(due(2), LIMIT, now=NOW, paused_until=NOW + timedelta(seconds=30))
    assert not p.sends and p.resume_at == NOW + timedelta(seconds=30)


def test_most_severe_first_when_summarising() -> None:
    items = [*due(30), Due(99, 99, Severity.CRITICAL, NOW)]
    p = plan(items, LIMIT, now=NOW)
    assert p.sends[0].items[0].alert_id == 99


BERLIN = ZoneInfo("Europe/Berlin")
NIGHT = QuietHours(time(22, 0), time(7, 0), BERLIN, Severity.CRITICAL)


def test_quiet_hours_wrap_midnight_and_follow_the_zone() -> None:
    at = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Berlin (UTC+1 in March before DST)
    assert quiet_until(at, NIGHT) == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 3, 3, 5, 59, tzinfo=UTC), NIGHT) == datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 3, 3, 6, 0, tzinfo=UTC), NIGHT) is None
    # After the switch to summer time, 07:00 in Berlin is 05:00 UTC.
    assert quiet_until(datetime(2026, 4, 1, 1, 0, tzinfo=UTC), NIGHT) == datetime(2026, 4, 1, 5, 0, tzinfo=UTC)


def test_quiet_hours_hold_all_but_critical_and_release_as_one_digest() -> None:
    night = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    pol = ChannelPolicy(quiet_hours=NIGHT)
    items = [*due(3), Due(50, 50, Severity.CRITICAL, night)]
    p = plan(items, pol, now=night)
    assert [s.items[0].alert_id for s in p.sends] == [50]
    assert len(p.holds) == 1 and p.holds[0].reason == "quiet" and len(p.holds[0].items) == 3
    released = [Due(d.delivery_id, d.alert_id, d.severity, d.created_at, held="quiet") for d in p.holds[0].items]
    after = plan(released, pol, now=p.holds[0].until)
    assert [s.kind for s in after.sends] == ["digest"] and len(after.sends[0].items) == 3


def test_digest_channel_holds_until_the_digest_unless_it_bypasses() -> None:
    at = NOW + timedelta(hours=20)
    pol = ChannelPolicy(digest=True, digest_bypass=Severity.CRITICAL)
    p = plan([*due(2), Due(9, 9, Severity.CRITICAL, NOW)], pol, now=NOW, digest_at=at)
    assert [s.items[0].alert_id for s in p.sends] == [9]
    assert p.holds[0].until == at and p.holds[0].reason == "digest"


def test_summaries_never_mix_deliveries_owing_different_urls() -> None:
    items = due(3, targets=frozenset({"a"})) + [Due(10 + i, 10 + i, Severity.WARNING, NOW, targets=frozenset({"b"}))
                                               for i in range(3)]
    p = plan(items, ChannelPolicy(rate_limit=RateLimit(2, 60)), now=NOW)
    assert {s.targets for s in p.sends} == {frozenset({"a"}), frozenset({"b"})}


def test_realert_window_and_rising_severity() -> None:
    earlier = [Prior(Severity.WARNING, NOW - timedelta(hours=1))]
    assert not should_alert(earlier, Severity.WARNING, now=NOW, window=6 * 3600)
    assert should_alert(earlier, Severity.CRITICAL, now=NOW, window=6 * 3600)
    assert should_alert(earlier, Severity.WARNING, now=NOW, window=1800)


def test_fallback_after_failing_long_enough() -> None:
    assert not fallback_active(None, now=NOW, after=60)
    assert not fallback_active(NOW - timedelta(seconds=59), now=NOW, after=60)
    assert fallback_active(NOW - timedelta(seconds=60), now=NOW, after=60)


severities = st.sampled_from([Severity.WATCH, Severity.WARNING, Severity.CRITICAL])


@st.composite
def backlog(draw: st.DrawFn) -> tuple[list[Due], ChannelPolicy, list[datetime]]:
    n = draw(st.integers(0, 300))
    items = [Due(i, 1000 + i, draw(severities), NOW - timedelta(seconds=draw(st.integers(0, 600))),
                 held=draw(st.sampled_from([None, None, "quiet"])),
                 targets=draw(st.sampled_from([frozenset({"a"}), frozenset({"a", "b"})])))
             for i in range(n)]
    limit = RateLimit(draw(st.integers(1, 20)), draw(st.sampled_from([10.0, 60.0, 3600.0])))
    pol = ChannelPolicy(rate_limit=limit, summary_size=draw(st.integers(1, 60)))
    recent = [NOW - timedelta(seconds=draw(st.floats(0, 4000))) for _ in range(draw(st.integers(0, 25)))]
    return items, pol, recent


@settings(max_examples=200, deadline=None)
@given(backlog())
def test_every_due_alert_is_sent_or_deferred_exactly_once_and_the_window_holds(
        case: tuple[list[Due], ChannelPolicy, list[datetime]]) -> None:
    items, pol, recent = case
    p = plan(items, pol, now=NOW, recent=recent)
    sent = [i.alert_id for s in p.sends for i in s.items]
    deferred = [i.alert_id for i in p.deferred]
    assert sorted(sent + deferred) == sorted(i.alert_id for i in items)  # named exactly once, nothing lost
    assert pol.rate_limit is not None
    in_window = sum(1 for t in recent if NOW - t < timedelta(seconds=pol.rate_limit.per))
    assert len(p.sends) <= max(0, pol.rate_limit.messages - in_window)
    assert all(len(s.items) <= pol.summary_size for s in p.sends)
    assert all(len({i.targets for i in s.items}) == 1 for s in p.sends)
    if p.deferred:
        assert p.resume_at is not None and p.resume_at > NOW


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 7200), min_size=0, max_size=30))
def test_draining_a_storm_never_exceeds_the_limit_in_any_window(offsets: list[int]) -> None:
    """Replay: 500 alerts, plan, 'send', advance to resume_at, until nothing is left."""
    pol = ChannelPolicy(rate_limit=RateLimit(10, 60), summary_size=25)
    pending = due(500)
    sent_at: list[datetime] = [NOW - timedelta(seconds=o) for o in offsets]
    now, named = NOW, []
    while pending:
        p = plan(pending, pol, now=now, recent=sent_at)
        named += [i.alert_id for s in p.sends for i in s.items]
        sent_at += [now] * len(p.sends)
        pending = list(p.deferred)
        if pending:
            assert p.resume_at is not None
            now = p.resume_at
    assert sorted(named) == list(range(1, 501))
    sends = sorted(t for t in sent_at if t >= NOW)
    for t in sends:
        assert sum(1 for u in sent_at if t <= u < t + timedelta(seconds=60)) <= 10
