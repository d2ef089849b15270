"""The desk's pure rules (issue 17): signed one-click tokens, silence matchers, what a triage holds, and the
feedback figures. No database, no clock but the one passed in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from itsdangerous import BadData
from itsdangerous.encoding import base64_decode

from monitor.core.feedback import Verdict, iso_week, weekly, weeks_start
from monitor.core.links import ACTIONS, LINK_TTL, LinkError, make_token, read_token
from monitor.core.silences import AlertFacts, MatcherError, active, matches, parse_matcher
from monitor.core.triage import Triage, hold_reason

KEY = "a-key-the-service-made-for-itself-0123456789"
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday


# --- one-click tokens ---


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=0, max_value=2**53), st.sampled_from(ACTIONS))
def test_a_token_names_its_alert_and_serves_only_its_action(alert_id: int, action: str) -> None:
    token = make_token(KEY, alert_id, action)
    claim = read_token(KEY, token, action)
    assert (claim.alert_id, claim.action) == (alert_id, action) and claim.jti
    for other in set(ACTIONS) - {action}:
        with pytest.raises(LinkError, match="not valid"):
            read_token(KEY, token, other)


TAMPERED_BASE = make_token(KEY, 7, "noise")


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_tampered_token_is_refused(data: st.DataObject) -> None:
    token = TAMPERED_BASE  # one token for every example: a fresh one differs in length, and hypothesis replays draws
    at = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    swap = data.draw(st.sampled_from("ABCxyz019-_.").filter(lambda c: c != token[at]))
    tampered = token[:at] + swap + token[at + 1:]
    if _decoded(tampered) == _decoded(token):
        return  # the unused low bits of a last base64 character: the same bytes, so the same token
    with pytest.raises(LinkError):
        read_token(KEY, tampered, "noise")


def _decoded(token: str) -> list[bytes] | None:
    try:
        return [base64_decode(part) for part in token.split(".")]
    except BadData:
        return None


def test_an_expired_token_or_another_key_is_refused() -> None:
    token = make_token(KEY, 7, "useful")
    assert read_token(KEY, token, "useful", now=datetime.now(UTC) + LINK_TTL - timedelta(minutes=1)).alert_id == 7
    with pytest.raises(LinkError, match="expired"):
        read_token(KEY, token, "useful", now=datetime.now(UTC) + LINK_TTL + timedelta(minutes=1))
    with pytest.raises(LinkError):
        read_token("another key of the same length, or any other", token, "useful")
    with pytest.raises(LinkError, match="unknown action"):
        make_token(KEY, 7, "delete")
    with pytest.raises(LinkError):
        read_token(KEY, "", "useful")


def test_two_tokens_for_the_same_alert_and_action_differ() -> None:
    first, second = make_token(KEY, 7, "snooze"), make_token(KEY, 7, "snooze")
    assert first != second and read_token(KEY, first, "snooze").jti != read_token(KEY, second, "snooze").jti


# --- silences ---


FACTS = AlertFacts(watchlist="russia-nato", feed="Wire", title="NATO drill: war games on the Narva",
                   actors=frozenset({"NATO", "Vladimir Putin"}), tags=frozenset({"world", "baltic"}))


@pytest.mark.parametrize(("text", "field", "value"), [("watchlist=russia-nato", "watchlist", "russia-nato"),
                                                      (" Text = war games ", "text", "war games"),
                                                      ("tag=a=b", "tag", "a=b")])
def test_a_matcher_is_field_equals_value(text: str, field: str, value: str) -> None:
    assert parse_matcher(text) == {"field": field, "value": value}


@pytest.mark.parametrize(("text", "says"), [("colour=red", "FIELD one of"), ("watchlist", "FIELD=VALUE"),
                                            ("text=  ", "empty"), ("=x", "FIELD one of")])
def test_a_bad_matcher_says_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(MatcherError, match=says):
        parse_matcher(text)


@pytest.mark.parametrize(("matchers", "expected"), [
    ([("watchlist", "russia-nato")], True), ([("watchlist", "Russia-NATO")], False),
    ([("feed", "Wire")], True), ([("actor", "nato")], True), ([("actor", "vladimir putin")], True),
    ([("actor", "putin")], False), ([("tag", "baltic")], True), ([("tag", "asia")], False),
    ([("text", "WAR GAMES")], True), ([("text", "ceasefire")], False),
    ([("watchlist", "russia-nato"), ("text", "drill")], True),
    ([("watchlist", "russia-nato"), ("text", "ceasefire")], False),  # every matcher must match
    ([], False),  # a silence without matchers would silence everything: it matches nothing
    ([("colour", "red")], False)])
def test_every_matcher_of_a_silence_must_match(matchers: list[tuple[str, str]], expected: bool) -> None:
    assert matches([{"field": f, "value": v} for f, v in matchers], FACTS) is expected


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefghij ", min_size=1, max_size=40), st.data())
def test_a_text_matcher_matches_any_part_of_the_title(title: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(min_value=0, max_value=len(title) - 1))
    end = data.draw(st.integers(min_value=start + 1, max_value=len(title)))
    part = title[start:end]
    facts = AlertFacts("w", "f", title, frozenset(), frozenset())
    if part.strip():
        assert matches([{"field": "text", "value": part.strip()}], facts)
    assert not matches([{"field": "text", "value": title + "k"}], facts)


def test_a_silence_is_active_from_its_start_until_just_before_its_end() -> None:
    start, end = NOW, NOW + timedelta(hours=2)
    assert [active(start, end, t) for t in (start - timedelta(seconds=1), start, end - timedelta(seconds=1),
                                            end)] == [False, True, True, False]


# --- triage ---


@pytest.mark.parametrize(("state", "until", "severity", "expected"), [
    (None, None, 2, None),
    (Triage("acked", 2), None, 2, "acked"), (Triage("acked", 2), None, 1, "acked"), (Triage("acked", 2), None, 3, None),
    (Triage("snoozed", 2, NOW + timedelta(hours=1)), None, 2, "snoozed"),
    (Triage("snoozed", 2, NOW - timedelta(seconds=1)), None, 2, None),  # the snooze ran out
    (Triage("snoozed", 2, None), None, 2, None), (Triage("snoozed", 2, NOW + timedelta(hours=1)), None, 3, None)])
def test_what_a_triage_holds(state: Triage | None, until: None, severity: int, expected: str | None) -> None:
    assert hold_reason(state, severity, NOW) == expected


@given(st.sampled_from(["acked", "snoozed"]), st.integers(0, 3), st.integers(0, 3), st.integers(-48, 48))
def test_a_rise_above_the_triaged_severity_is_never_held(state: str, seen: int, severity: int, hours: int) -> None:
    triage = Triage(state, seen, NOW + timedelta(hours=hours))
    if severity > seen:
        assert hold_reason(triage, severity, NOW) is None
    else:
        assert (hold_reason(triage, severity, NOW) is not None) == (state == "acked" or hours > 0)


# --- feedback figures ---


def test_weekly_figures_count_useful_noise_and_the_top_reasons_per_watchlist_and_iso_week() -> None:
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    sunday_night = monday - timedelta(seconds=1)  # 2026-W09
    verdicts = [Verdict("a", monday, "useful"), Verdict("a", monday, "noise", "denial"),
                Verdict("a", monday + timedelta(days=6), "noise", "denial"),
                Verdict("a", monday, "noise", "background"), Verdict("a", monday, "noise", "wrong_actor"),
                Verdict("a", monday, "noise", None), Verdict("a", sunday_night, "noise", "duplicate"),
                Verdict("b", monday, "useful")]
    rows = weekly(verdicts)
    assert [(r.watchlist, r.week, r.useful, r.noise) for r in rows] == [
        ("a", "2026-W09", 0, 1), ("a", "2026-W10", 1, 5), ("b", "2026-W10", 1, 0)]
    assert rows[1].reasons == (("denial", 2), ("background", 1), ("unspecified", 1))  # ties by name
    assert rows[1].noise_share == pytest.approx(5 / 6) and rows[2].noise_share == 0.0
    assert weekly([]) == []


def test_weeks_are_iso_weeks_in_utc() -> None:
    late_sunday_in_new_york = datetime(2026, 3, 1, 20, 0, tzinfo=UTC) + timedelta(hours=5)  # Monday 01:00 UTC
    assert iso_week(late_sunday_in_new_york) == "2026-W10"
    assert iso_week(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"
    assert weeks_start(NOW, 1) == datetime(2026, 3, 2, tzinfo=UTC)
    assert weeks_start(NOW, 3) == datetime(2026, 2, 16, tzinfo=UTC)
    assert weeks_start(NOW, 0) == weeks_start(NOW, 1)
