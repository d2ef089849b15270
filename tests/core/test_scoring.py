"""The score, rule by rule, on a small hand-made watchlist; the public API the service relies on."""

from __future__ import annotations

import itertools

import pytest

from monitor.core.scoring import Scorer
from monitor.domain import Actor, Contribution, Document, Keyword, Score, Severity, Watchlist
from tests.core.builders import kinds, small_watchlist


def score(text: str, wl: Watchlist | None = None, **kwargs: object) -> Score:
    [result] = Scorer([wl or small_watchlist()]).score(Document.from_text(text), **kwargs)  # type: ignore[arg-type]
    return result


def value(s: Score, kind: str) -> float:
    return round(sum(c.value for c in s.contributions if c.kind == kind), 3)


# --- the API ---

def test_one_score_per_applicable_watchlist_scoped_by_tags_and_language() -> None:
    world = small_watchlist(name="world", tags=("world",))
    german = small_watchlist(name="german", languages=("de",))
    everything = small_watchlist(name="everything")
    scorer = Scorer([world, german, everything])
    assert scorer.watchlists == (world, german, everything)
    doc = Document("Putin threatens war")
    assert [s.watchlist for s in scorer.score(doc)] == ["german", "everything"]
    assert [s.watchlist for s in scorer.score(doc, tags=["world"], language="en-GB")] == ["world", "everything"]
    assert [s.watchlist for s in scorer.score(doc, language="de_AT")] == ["german", "everything"]
    assert scorer.score(doc, language="fr") == scorer.score(doc, language="fr")


def test_contributions_sum_to_the_score_and_point_into_document_text() -> None:
    doc = Document("NATO: Putin threatens nuclear strike", "Moscow denied it would attack. Talks could resume.")
    [s] = Scorer([small_watchlist()]).score(doc)
    assert s.value == round(sum(c.value for c in s.contributions), 3)
    for c in s.contributions:
        assert doc.text[c.span[0]:c.span[1]] == c.term
    assert s.actors == ("NATO", "Vladimir Putin")
    assert s.terms == ("nuclear strike", "attack")


def test_nothing_matched() -> None:
    s = score("Central bank holds rates")
    assert s == Score("test", 0.0, Severity.NONE)


def test_deterministic() -> None:
    text = "Putin warns NATO of war\nNo war, Putin says; talks could resume, war war war."
    assert score(text) == score(text)
    assert Scorer([small_watchlist()]).score(Document.from_text(text)) == \
        Scorer([small_watchlist()]).score(Document.from_text(text))


# --- the rules ---

def test_keyword_weight_title_counts_more_than_body() -> None:
    assert value(score("War"), "keyword") == 3.0  # 2 x 1.5
    assert value(score("Headline\nwar"), "keyword") == 2.0


def test_actor_presence_once_per_actor() -> None:
    s = score("Putin met Putin and NATO")
    assert kinds(s)["actor"] == ["Putin", "NATO"]
    assert value(s, "actor") == 3.0  # two actors in the title, weight 1 x 1.5


def test_inflected_and_cyrillic_aliases() -> None:
    assert score("Путину пригрозили").actors == ("Vladimir Putin",)
    assert score("l'OTAN prévient").actors == ("NATO",)


def test_proximity_within_the_window_only() -> None:
    near = score("Headline\nPutin talked of war")
    assert kinds(near)["proximity"] == ["war"]
    assert value(near, "proximity") == 1.0  # 50% of the term's 2
    filler = " ".join(["word"] * 13)
    assert "proximity" not in kinds(score(f"Headline\nPutin {filler} war"))
    assert "proximity" in kinds(score(f"Headline\nPutin {filler} war", small_watchlist(proximity_window=13)))


def test_cooccurrence_of_two_or_more_actors_amid_escalation() -> None:
    assert "cooccurrence" not in kinds(score("Putin speaks of war"))
    assert "cooccurrence" not in kinds(score("Putin and NATO meet"))  # no escalation language: just a meeting
    assert value(score("Putin and NATO: war"), "cooccurrence") == 0.5


def test_require_actor_cancels_the_score() -> None:
    s = score("Nuclear strike feared", small_watchlist(require_actor=True))
    assert s.value == 0.0 and s.severity is Severity.NONE
    assert kinds(s)["no_actor"] == [""]
    [cancel] = s.contributions
    assert cancel.value == 0 and cancel.detail.endswith("none is named; found: Nuclear strike")
    assert s.terms == ("Nuclear strike",)
    assert score("Nuclear strike feared").value == 7.5


@pytest.mark.parametrize(("text", "kind"), [
    ("Headline\nPutin has no intention to attack NATO", "negation"),
    ("Headline\nPutin denied plans to attack NATO", "negation"),
    ("Headline\nPutin rules out an attack on NATO", "negation"),
    ("Headline\nPutin will not allow ourselves to be drawn into an attack", "negation"),
    ("Headline\nPlans for an attack on NATO were denied by Putin", "negation"),
    ("Headline\nPutin could attack NATO", "hedge"),
    ("Headline\nPutin might attack NATO", "hedge"),
    ("Headline\nPutin may attack NATO by 2030", "hedge"),
    ("Headline\nIf Putin attacks NATO, the alliance responds", "hedge"),
])
def test_negated_and_hedged_terms_are_damped(text: str, kind: str) -> None:
    plain = score("Headline\nPutin plans to attack NATO")
    damped = score(text)
    assert kind in kinds(damped)
    assert damped.value < plain.value
    factor = 0.2 if kind == "negation" else 0.5
    attack = next(c for c in damped.contributions if c.kind == "keyword")
    damping = sum(c.value for c in damped.contributions if c.kind in ("negation", "hedge"))
    assert damping <= -(1 - factor) * attack.value + 1e-9


def test_damping_stays_inside_its_clause() -> None:
    assert "negation" not in kinds(score("Headline\nPutin did not comment. War is coming, NATO says"))
    assert "negation" not in kinds(score("Headline\nNo comment from Putin, but war is near"))


def test_double_negation_reads_as_a_possibility() -> None:
    s = score("Headline\nPutin does not rule out war")
    assert kinds(s).get("negation") is None
    assert [c.detail for c in s.contributions if c.kind == "hedge"] == [
        "damps 'war' x0.5 (double negation reads as a possibility)"]


def test_several_cues_multiply() -> None:
    one = score("Headline\nPutin might attack")
    two = score("Headline\nPutin might attack by 2030")
    assert value(two, "keyword") == value(one, "keyword") == 2.0
    assert value(one, "hedge") == -1.0
    assert value(two, "hedge") == -1.5  # 2 x (1 - 0.5 x 0.5)


def test_deescalation_lowers_the_score_and_is_damped_when_negated() -> None:
    base = score("Putin warns NATO of war")
    assert score("Putin warns NATO of war despite ceasefire").value < base.value
    assert kinds(score("Putin warns NATO of war despite ceasefire"))["deescalation"] == ["ceasefire"]
    assert score("Putin rejects ceasefire, no talks").value > score("Putin accepts ceasefire and talks").value


def test_neutral_phrases_hide_the_terms_inside_them() -> None:
    s = score("Putin attends war film premiere")
    assert kinds(s).get("keyword") is None
    assert kinds(s)["neutral"] == ["war film"]


def test_longer_match_wins() -> None:
    wl = small_watchlist(keywords=(Keyword("strike", 2.0), Keyword("nuclear strike", 5.0)))
    s = score("NATO fears nuclear strike", wl)
    assert kinds(s)["keyword"] == ["nuclear strike"]


def test_repetition_has_diminishing_returns() -> None:
    values = [score("Headline\n" + " ".join(["war"] * n)).value for n in range(1, 7)]
    assert values[0] == 2.0
    steps = [round(b - a, 3) for a, b in itertools.pairwise(values)]
    assert all(step >= 0 for step in steps)
    assert steps[0] > steps[1] > steps[2]
    assert steps[3:] == [0.0, 0.0]  # four occurrences count, no more
    assert kinds(score("war war"))["repetition"] == ["war"]


def test_long_bodies_saturate() -> None:
    wl = small_watchlist(keywords=(Keyword("war", 2.0), Keyword("attack", 2.0), Keyword("nuclear strike", 5.0)))
    body = ". ".join(f"Sentence {i} mentions {t}" for i, t in enumerate(["war", "attack", "nuclear strike"] * 5))
    s = score(f"Headline\n{body}", wl)
    assert s.value < 2 * (2 + 2 + 5)  # repetition alone would allow up to 1.875 x each
    assert any("saturation" in c.detail for c in s.contributions)


def test_language_tagged_keywords_apply_to_their_language_or_unknown() -> None:
    wl = small_watchlist(keywords=(Keyword("war", 2.0, language="en"),))
    assert score("Krieg? war es nicht", wl, language="de").value == 0.0
    assert score("Putin war", wl).value > 0
    assert score("Putin war", wl, language="en-US").value > 0


def test_fuzzy_actor_is_explained() -> None:
    szijjarto = Actor("szijjarto", "Péter Szijjártó", ("Szijjártó",), fuzzy=True, fuzzy_threshold=80)
    wl = small_watchlist(actors=(szijjarto,))
    [c] = [c for c in score("Siarto warns of war", wl).contributions if c.kind == "actor"]
    assert c == Contribution("actor", "Siarto", (0, 6), 1.5, "Péter Szijjártó, fuzzy 86%", "headline")


def test_severity_from_thresholds() -> None:
    assert score("NATO fears Putin nuclear strike").severity is Severity.WARNING
