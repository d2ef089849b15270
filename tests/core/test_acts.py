"""The learned second opinion's rules (core.acts): its value, where it is asked, and how it joins a score. The model
here is a stand-in that answers from a table and counts its calls; tests/feeds/test_acts_model.py runs the real one."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.acts import MAX_LIFT, Head, consulted, floor, model_text, value_of, with_model
from monitor.core.scoring import Scorer
from monitor.domain import Contribution, Document, Score, Severity
from tests.core.builders import kinds, small_watchlist


class TableModel:
    """Answers from `answers` by text (0.5 for any other), and records what it was asked."""

    def __init__(self, answers: dict[str, float]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def probability(self, text: str) -> float:
        self.asked.append(text)
        return self.answers.get(text, 0.5)


@given(st.floats(0, 1), st.floats(0, 1))
def test_the_value_grows_with_the_probability_and_stays_within_its_bounds(p: float, q: float) -> None:
    low, high = sorted((p, q))
    assert -6.75 <= value_of(low) <= value_of(high) <= MAX_LIFT == 5.25


def test_the_value_at_landmarks() -> None:
    assert value_of(0.5) == pytest.approx(-0.75)
    assert value_of(1 / (1 + math.exp(-0.5))) == pytest.approx(0.0)  # p = 0.62 adds nothing
    assert value_of(0.999) == pytest.approx(5.25) and value_of(0.001) == pytest.approx(-6.75)


def test_the_head_is_a_standardised_logistic_regression() -> None:
    head = Head.from_mapping({"mean": [1.0, 0.0], "scale": [2.0, 1.0], "coef": [1.0, -1.0], "intercept": 0.5})
    z = 0.5 + (3.0 - 1.0) / 2.0 - 0.25  # (v - mean) / scale, weighted
    assert head.probability([3.0, 0.25]) == pytest.approx(1 / (1 + math.exp(-z)))
    with pytest.raises(ValueError, match="expected an embedding of 2 numbers"):
        head.probability([1.0])


@pytest.mark.parametrize(("data", "message"), [
    ({"mean": [0.0], "scale": [1.0, 1.0], "coef": [1.0], "intercept": 0}, "as long as each other"),
    ({"mean": [0.0], "scale": [0.0], "coef": [1.0], "intercept": 0}, "scale"),
])
def test_a_malformed_head_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Head.from_mapping(data)


def test_the_model_reads_the_headline_and_the_lead_not_the_article() -> None:
    doc = Document("Missile strike on Kharkiv", "x" * 500, article="The whole article.")
    assert model_text(doc) == "Missile strike on Kharkiv. " + "x" * 400
    assert model_text(Document("Only a headline ")) == "Only a headline"
    assert model_text(Document("war " * 250_000, "x" * 1_000_000)) == ("war " * 150)[:600]  # a hostile headline


def test_it_is_asked_only_where_it_can_take_a_score_to_warning() -> None:
    wl = small_watchlist()  # warning at 8
    term = (Contribution("keyword", "war", (0, 3), 1.0),)
    assert floor(wl) == 8 - MAX_LIFT
    assert consulted(Score("test", 8 - MAX_LIFT, Severity.NONE, term), floor(wl))
    assert not consulted(Score("test", 8 - MAX_LIFT - 0.01, Severity.NONE, term), floor(wl))
    assert consulted(Score("test", 30.0, Severity.CRITICAL, term), floor(wl))  # it can also lower a score
    assert not consulted(Score("test", 0.0, Severity.NONE), floor(small_watchlist(severities=())))  # nothing found
    cancelled = (Contribution("no_actor", "", (0, 0), 0.0, "the watchlist requires an actor"),)
    low = small_watchlist(severities=((Severity.WATCH, 0.0),))
    assert not consulted(Score("test", 0.0, Severity.NONE, cancelled), floor(low))
    no_warning = small_watchlist(severities=((Severity.WATCH, 6.0), (Severity.CRITICAL, 20.0)))
    assert consulted(Score("test", 6.0 - MAX_LIFT, Severity.NONE, term), floor(no_warning))  # its lowest instead


def test_its_contribution_is_explained_and_moves_the_severity() -> None:
    wl = small_watchlist()
    term = Contribution("keyword", "attack", (0, 6), 7.0)
    before = Score("test", 7.0, Severity.WATCH, (term,), ("NATO",), ("attack",))
    after = with_model(before, wl, 0.99)
    model = after.contributions[-1]
    assert (model.kind, model.value) == ("model", round(value_of(0.99), 3))
    assert "an act of force, 99% likely" in model.detail
    assert after.value == round(7.0 + model.value, 3) and after.severity is Severity.WARNING
    assert (after.actors, after.terms) == (before.actors, before.terms)
    assert with_model(before, wl, 0.05).severity is Severity.NONE  # and down


def test_the_scorer_asks_once_per_item_and_adds_it_to_every_score_within_reach() -> None:
    title = "Putin orders nuclear strike"
    model = TableModel({title: 0.99})
    first, second = small_watchlist(), small_watchlist(name="other")
    scores = Scorer([first, second], model=model).score(Document(title))
    assert model.asked == [title]  # two watchlists, one reading
    plain = Scorer([first, second]).score(Document(title))
    for with_it, without in zip(scores, plain, strict=True):
        assert kinds(with_it)["model"] == ["99% act of force"]
        assert with_it.value == round(without.value + value_of(0.99), 3)
        assert with_it.contributions[:-1] == without.contributions


def test_the_scorer_does_not_ask_about_items_it_cannot_change() -> None:
    model = TableModel({})
    requires = small_watchlist(require_actor=True)
    scorer = Scorer([requires], model=model)
    assert scorer.score(Document("Weather is mild today"))[0].value == 0.0  # nothing matched
    assert "model" not in kinds(scorer.score(Document("War film wins award"))[0])  # a benign sense only
    assert "model" not in kinds(scorer.score(Document("Nuclear strike drill in the desert"))[0])  # no actor: cancelled
    assert 0 < scorer.score(Document("Putin visits a farm"))[0].value < 8 - MAX_LIFT  # too low to reach warning
    assert model.asked == []
