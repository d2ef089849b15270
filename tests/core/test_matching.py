"""The compiled matcher: whole words and phrases only, wildcards, regexes, fuzzy actor aliases."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core import fuzzy
from monitor.core.cues import CUES
from monitor.core.matching import CUE_OWNER, Hit, Matcher, compile_term
from monitor.core.normalize import WordView, fold
from monitor.domain import Actor, Keyword, Watchlist


def matches(text: str, *terms: str, actors: tuple[Actor, ...] = (), regex: bool = False) -> list[str]:
    """The original text of every keyword or actor match (cues left out)."""
    wl = Watchlist("t", actors=actors, keywords=tuple(Keyword(t, 1.0, regex=regex) for t in terms))
    return [text[slice(*span)] for _, span in _find(text, [wl])]


def _find(text: str, watchlists: list[Watchlist]) -> list[tuple[Hit, tuple[int, int]]]:
    folded = fold(text)
    hits = Matcher(watchlists, CUES).find(folded, WordView(folded.text), range(len(watchlists)))
    return [(h, folded.span(h.start, h.end)) for h in hits if h.owner != CUE_OWNER]


def test_whole_words_only() -> None:
    text = "An award-winning film about Warsaw in a warm spring; software wars. War! (war) war."
    assert matches(text, "war") == ["War", "war", "war"]


def test_cyrillic_letters_are_word_characters() -> None:
    assert matches("Иван Петрова и Иван Петров", "Иван Петров") == ["Иван Петров"]
    assert matches("войнушка и война", "война") == ["война"]


def test_phrases_match_across_punctuation_and_whitespace_but_not_partially() -> None:
    text = "nuclear strike, Nuclear-strike, nuclear\n\nstrike, nuclear strikes, nuclear"
    assert matches(text, "nuclear strike") == ["nuclear strike", "Nuclear-strike", "nuclear\n\nstrike"]


def test_prefix_wildcard_extends_to_the_end_of_the_word() -> None:
    text = "escalation, escalating, Escalate, de-escalation, escalat, scalation"
    assert matches(text, "escalat*") == ["escalation", "escalating", "Escalate", "escalation", "escalat"]


def test_wildcards_inside_phrases_for_inflected_languages() -> None:
    text = "угроза ядерного удара, ядерным ударом, ядерный удар, ядерная зима"
    assert matches(text, "ядерн* удар*") == ["ядерного удара", "ядерным ударом", "ядерный удар"]


def test_diacritics_and_case_are_folded_and_spans_are_original() -> None:
    assert matches("Viktor ORBÁN and Péter Szijjártó", "orban", "Szijjarto") == ["ORBÁN", "Szijjártó"]


def test_regex_keywords_run_on_folded_text() -> None:
    text = "Russian jets violated Estonian airspace; Violating airspace again."
    assert matches(text, r"violat\w* (?:\w+ ){0,2}airspace\b", regex=True) == [
        "violated Estonian airspace", "Violating airspace"]


def test_fuzzy_aliases_are_off_by_default_and_respect_the_threshold() -> None:
    text = "wrote Siarto, a figure whose identity remains unclear"
    szijjarto = Actor("szijjarto", "Péter Szijjártó", ("Szijjártó",))
    assert matches(text, actors=(szijjarto,)) == []
    fuzzy = Actor("szijjarto", "Péter Szijjártó", ("Szijjártó",), fuzzy=True, fuzzy_threshold=80)
    assert matches(text, actors=(fuzzy,)) == ["Siarto"]
    strict = Actor("szijjarto", "Péter Szijjártó", ("Szijjártó",), fuzzy=True, fuzzy_threshold=95)
    assert matches(text, actors=(strict,)) == []


def test_fuzzy_matching_leaves_unrelated_words_alone() -> None:
    fuzzy = Actor("lavrov", "Sergei Lavrov", ("Lavrov",), fuzzy=True, fuzzy_threshold=80)
    # ratio against "lavrov": Lavrof 83, Larov 91, Lawrow 67 (an explicit alias is the way for that one)
    assert matches("Lawrow and Lavrof met; lava, laver, Larov", actors=(fuzzy,)) == ["Lavrof", "Larov"]
    assert matches("lovers of lavender", actors=(fuzzy,)) == []


def test_fuzzy_words_remembered_across_items_give_the_same_matches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Candidate words are compared once and remembered: a second item, a bound that forgets, and two
    watchlists with different thresholds for the same alias all find what a first look finds."""
    monkeypatch.setattr(fuzzy, "MEMO_WORDS", 2)
    loose = Watchlist("a", actors=(Actor("lavrov", "Lavrov", fuzzy=True, fuzzy_threshold=80),))
    strict = Watchlist("b", actors=(Actor("lavrov", "Lavrov", fuzzy=True, fuzzy_threshold=90),))
    matcher = Matcher([loose, strict], CUES)
    found = []
    for text in ["Lavrof and Larov", "Larov, Lavrof, lava, laver, lovers", "Lavrof"]:
        folded = fold(text)
        found.append(sorted((h.owner, text[slice(*folded.span(h.start, h.end))])
                            for h in matcher.find(folded, WordView(folded.text), range(2)) if h.owner != CUE_OWNER))
    assert found == [[(0, "Larov"), (0, "Lavrof"), (1, "Larov")], [(0, "Larov"), (0, "Lavrof"), (1, "Larov")],
                     [(0, "Lavrof")]]


def test_one_matcher_serves_many_watchlists() -> None:
    a = Watchlist("a", keywords=(Keyword("war", 1.0),))
    b = Watchlist("b", keywords=(Keyword("war", 2.0), Keyword("strike", 1.0)))
    found = _find("war and strike", [a, b])
    assert sorted((h.owner, h.ref) for h, _ in found) == [(0, 0), (1, 0), (1, 1)]


def test_cues_are_matched_in_the_same_pass_and_only_when_a_watchlist_matched() -> None:
    folded = fold("Moscow has no desire to attack")
    watchlist = Watchlist("t", keywords=(Keyword("attack"),))
    hits = Matcher([watchlist], CUES).find(folded, WordView(folded.text), [0])
    assert {CUES[h.ref].phrase for h in hits if h.kind == "cue"} >= {"no", "no desire", "no desire to"}
    # the same cues with nothing of a watchlist around: no hit at all (most items match nothing)
    quiet = fold("Moscow has no desire to travel")
    assert Matcher([watchlist], CUES).find(quiet, WordView(quiet.text), [0]) == []


def test_word_positions() -> None:
    [(hit, _)] = _find("Putin, again: nuclear strike now", [Watchlist("t", keywords=(Keyword("nuclear strike"),))])
    assert (hit.first, hit.last) == (2, 4)


def test_terms_without_words_are_ignored() -> None:
    assert compile_term("*") is None
    assert compile_term("--") is None


def test_many_terms_same_answer() -> None:
    """20,000 other terms change nothing about what matches."""
    others = [f"zz{i} term{i}" for i in range(20_000)]
    assert matches("war and peace, zz1 term2", "war", *others) == ["war"]


_LETTERS = st.sampled_from("abcdefghijklmnopqrstuvwxyzабвгдеёжзийклмнопрстуфхцчшщъыьэюяäöüéñçøåßіїє")
_WORD = st.text(_LETTERS, min_size=1, max_size=8)


@given(term=_WORD, before=st.text(_LETTERS, max_size=3), after=st.text(_LETTERS, max_size=3))
def test_a_term_never_matches_inside_a_longer_word(term: str, before: str, after: str) -> None:
    longer = before + term + after
    if fold(longer).text == fold(term).text:
        return  # not longer once folded (ß = ss)
    assert matches(f"1 {longer} 2", term) == []
    assert matches(f"{longer}, {term}.", term) == [term]
