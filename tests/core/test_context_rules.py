"""The rules that weigh an act against the words around it (issue 15, fourth round): benign frames and cooperation
under a context cue, cooperation beside a clear act of force, hedges of appearance and questions. Each on short
written sentences, with a case where the rule must not fire."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.config import load_config
from monitor.core.cues import is_cooperation
from monitor.core.normalize import fold
from monitor.core.scoring import Scorer
from monitor.domain import Contribution, Document, Keyword, Score, Severity
from tests.core.builders import CONFIG, kinds, small_watchlist

WATCHLIST = small_watchlist(
    actors=(), require_actor=False,
    keywords=(Keyword("airstrikes", 7.0), Keyword("killed", 4.5), Keyword("attack*", 2.5), Keyword("clash", 2.5),
              Keyword("plane crash*", -3.0), Keyword("fire", -1.0), Keyword("peace talks", -3.0),
              Keyword("talks", -1.5), Keyword("ceasefire", -2.0), Keyword("aid", -1.0)),
    severities=((Severity.WATCH, 4.0), (Severity.WARNING, 8.0), (Severity.CRITICAL, 16.0)))
SCORER = Scorer([WATCHLIST])


def score(title: str, body: str = "") -> Score:
    [result] = SCORER.score(Document(title, body), language="en")
    return result


def of_kind(s: Score, kind: str) -> list[Contribution]:
    return [c for c in s.contributions if c.kind == kind]


# --- a benign frame keeps its value under a context cue; cooperation does not ---

def test_a_benign_cause_is_not_made_background_by_a_context_cue() -> None:
    s = score("15 killed after plane crash")
    assert "context" not in kinds(s)
    [crash] = of_kind(s, "deescalation")
    assert crash.value == -4.5
    assert "a benign cause or frame: not made background by 'after'" in crash.detail
    assert s.value == 2.25  # 6.75 - 4.5: the deaths and their cause, not an act of force


def test_cooperation_under_a_context_cue_stays_background() -> None:
    s = score("Airstrikes resume after ceasefire")
    [context] = of_kind(s, "context")
    assert context.term == "after" and context.detail == "damps 'ceasefire' x0.3"
    assert s.value == 10.5 - 3.0 * 0.3


# --- cooperation in the sentence of a clear act of force is its setting ---

def test_cooperation_beside_a_clear_act_cannot_cancel_it() -> None:
    s = score("Israel launches airstrikes as peace talks open")
    [context] = of_kind(s, "context")
    assert context.term == "airstrikes"
    assert context.detail == "damps 'peace talks' x0.3 (named beside an act of force in the same sentence)"
    assert s.value == pytest.approx(10.5 - 4.5 * 0.3)
    assert s.severity is Severity.WARNING  # without the rule: 6.0, watch


def test_an_abbreviation_does_not_end_the_sentence() -> None:
    assert of_kind(score("U.S. brokers talks as airstrikes go on"), "context")[0].term == "airstrikes"


@pytest.mark.parametrize(("title", "body"), [
    ("Israel launches airstrikes", "Peace talks open in Cairo."),     # another sentence
    ("Missionaries killed in plane crash bringing aid", ""),          # "killed": not a clear act (crimes, accidents)
    ("Airstrikes spark fire in Gaza", ""),                             # a frame, not cooperation
    ("Airstrikes, then talks collapsed", ""),                         # cooperation already damped: left as it is
])
def test_no_setting_without_a_clear_undamped_act_and_cooperation_in_its_sentence(title: str, body: str) -> None:
    s = score(title, body)
    assert not [c for c in of_kind(s, "context") if "beside an act" in c.detail]


# --- hedges of appearance ---

def test_seemingly_hedges_what_follows() -> None:
    s = score("Activist killed last week, seemingly in a clash")
    [hedge] = of_kind(s, "hedge")
    assert hedge.term == "seemingly" and hedge.detail == "damps 'clash' x0.5"
    assert "hedge" not in kinds(score("Activist killed last week in a clash"))


# --- a question is asked, not reported ---

def test_terms_in_a_question_are_hedged() -> None:
    s = score("Will Russia attack Poland?")
    [hedge] = of_kind(s, "hedge")
    assert hedge.term == "?" and hedge.detail == "damps 'attack' x0.5 (in a question)"
    assert s.value == 3.75 / 2


def test_a_statement_is_not_a_question_and_a_question_hedges_once() -> None:
    assert "hedge" not in kinds(score("Russia attacks Poland."))
    assert [c.term for c in of_kind(score("Could Russia attack Poland?"), "hedge")] == ["Could"]
    s = score("Did the ceasefire fail? Airstrikes hit Gaza")  # the question ends before the report
    assert [c.detail for c in of_kind(s, "hedge")] == ["damps 'ceasefire' x0.5 (in a question)"]



def test_a_question_after_a_dash_or_colon_does_not_hedge_the_statement_before_it() -> None:
    s = score("Airstrikes hit targets across southern Gaza overnight - what happens next?")  # (no topic tag: 7 words)
    assert "hedge" not in kinds(s) and s.value == 10.5
    s = score("Border clash: will Russia attack Poland?")  # the question clause itself is still hedged
    assert [c.detail for c in of_kind(s, "hedge")] == ["damps 'attack' x0.5 (in a question)"]


# --- a superlative before a context cue compares the act with its background ---

SHIPPED = Scorer([replace(w, actors=(), require_actor=False) for w in load_config(CONFIG).watchlists])


def shipped_damped(title: str) -> dict[str, str]:
    [result] = SHIPPED.score(Document(title), language="ru")
    return {c.detail.split("'")[1]: c.term for c in result.contributions if c.kind == "context"}


def test_the_compared_act_after_the_measure_is_not_background() -> None:
    """"The largest drone attack since the start of the war": only what the act is measured against is background."""
    assert shipped_damped("Область пережила самую масштабную с начала СВО атаку беспилотников") == {
        "СВО": "с начала"}
    # no superlative: the cue frames what follows it, as before
    assert shipped_damped("Область пережила с начала СВО атаку беспилотников") == {
        "СВО": "с начала", "атаку": "с начала", "беспилотников": "с начала"}


# --- the shipped knowledge: which lowering terms are cooperation ---

@pytest.mark.parametrize(("term", "cooperation"), [
    ("ceasefire*", True), ("peace talks", True), ("negotiat*", True), ("prisoner exchange*", True),
    ("strike a deal", True), ("invest*", True), ("waffenstillstand*", True), ("переговор*", True),
    ("прекращени* огня", True), ("cessez-le-feu", True), ("tuzszunet*", True),
    ("plane crash*", False), ("accident*", False), ("fire", False), ("illness", False), ("court", False),
    ("investigation*", False), ("investors", False), ("football", False), ("пожар*", False), ("скончал*", False),
    ("unfall", False), ("gedenk*", False), ("incendie*", False), ("baleset*", False),
])
def test_the_knowledge_tells_cooperation_from_benign_frames(term: str, cooperation: bool) -> None:
    [shipped] = load_config(CONFIG).watchlists
    assert any(kw.term == term and kw.weight < 0 for kw in shipped.keywords)  # a lowering term it ships (any language)
    assert is_cooperation(fold(term).text) is cooperation
