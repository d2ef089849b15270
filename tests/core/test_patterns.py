"""Watchlist patterns run on RE2: linear time, and the same matches as Python's engine where both apply."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.core.patterns import Gate, PatternError, compile_pattern
from monitor.core.scoring import Scorer
from monitor.domain import Document, Keyword, Severity, Watchlist
from tests.conftest import run_monitor
from tests.support.configdir import write_config


def test_catastrophic_pattern_returns_at_once() -> None:
    # Python's engine takes minutes on this (2^40 ways to split the a's); RE2 answers in one pass.
    assert list(compile_pattern(r"(a+)+$").spans("a" * 40 + "!")) == []
    assert list(compile_pattern(r"(a|aa)+$").spans("a" * 5000 + "b")) == []


def test_word_classes_are_unicode_as_in_python() -> None:
    text = "ракетный удар по городу, violated polish airspace"
    for source in (r"ракет\w+ удар", r"violat\w* (?:\w+ ){0,2}airspace", r"\d+", r"[\w]+ удар"):
        assert list(compile_pattern(source).spans(text)) == [m.span() for m in re.finditer(source, text)]


def test_edge_word_boundaries_cover_the_same_characters() -> None:
    pattern = compile_pattern(r"\bwar\b|airspace\b")
    assert list(pattern.spans("war, warsaw award war airspaces airspace")) == [(0, 3), (18, 21), (32, 40)]


def test_capital_letter_makes_the_pattern_case_insensitive() -> None:
    assert list(compile_pattern("Putin").spans("putin")) == [(0, 5)]
    assert list(compile_pattern(r"\Wputin").spans(" PUTIN")) == []  # \W is an escape, not a capital


@pytest.mark.parametrize(("source", "reason"), [
    (r"(?<=nato )war", "RE2"), (r"(war) \1", "RE2"), (r"war\b troops", r"\b is supported only"),
    (r"[\W]", "inside [...]"), (r"(nato", "invalid regular expression: missing ), unterminated subpattern"),
])
def test_patterns_that_cannot_run_in_linear_time_are_refused(source: str, reason: str) -> None:
    with pytest.raises(PatternError, match=re.escape(reason)):
        compile_pattern(source)


_ATOMS = st.sampled_from(["a", "b", "ы", r"\w", r"\d", "[ab]", "[^a ]", " ", ".", "(?:ab|b)", "(a|ы)"])
_QUANTIFIERS = st.sampled_from(["", "*", "+", "?", "{1,2}", "*?"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_ATOMS, _QUANTIFIERS), min_size=1, max_size=5),
       st.text(alphabet="abы1 ", max_size=30))
def test_same_matches_as_python_without_boundaries(parts: list[tuple[str, str]], text: str) -> None:
    source = "".join(atom + quantifier for atom, quantifier in parts)
    assume(re.fullmatch(source, "") is None)  # an empty match steps on differently in each engine; it is no hit
    expected = [m.span() for m in re.finditer(source, text) if m.end() > m.start()]
    assert list(compile_pattern(source).spans(text)) == expected


_NAMED = st.sampled_from(["", "(?P<x>a)", "(?P<b0>ы+)", r"\(?P<", "[(?P<]", "A", "B?"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(st.tuples(_ATOMS, _QUANTIFIERS), min_size=1, max_size=3), _NAMED),
                min_size=1, max_size=4),
       st.text(alphabet="abы1 (?P<>", max_size=30))
def test_gate_lets_through_every_text_that_some_pattern_matches(
        sources: list[tuple[list[tuple[str, str]], str]], text: str) -> None:
    """The gate may let a text through that no pattern matches (an empty match), never the other way round:
    the same group name in several patterns, escaped look-alikes of one and mixed case flags included."""
    patterns = []
    for parts, extra in sources:
        source = "".join(atom + quantifier for atom, quantifier in parts) + extra
        assume(re.fullmatch(source, "") is None)
        try:
            patterns.append(compile_pattern(source))
        except PatternError:
            assume(False)
    gate = Gate(patterns)
    assert gate._regex is not None  # joined, not the fall-back that lets everything through
    if any(list(p.spans(text)) for p in patterns):
        assert gate.may_match(text)
    if not any(p._regex.search(text) for p in patterns):
        assert not gate.may_match(text)


def test_gate_reads_each_pattern_with_its_own_case() -> None:
    lower, capital = compile_pattern("nato"), compile_pattern("Putin")  # a capital makes a pattern case-blind
    assert Gate([lower, capital]).may_match("PUTIN") and not Gate([lower, capital]).may_match("NATO")


def test_scorer_uses_the_pattern_like_a_term() -> None:
    keywords = (Keyword(r"(a+)+$", 5.0, regex=True), Keyword(r"\bwar\b", 3.0, regex=True))
    watchlist = Watchlist(name="w", keywords=keywords, severities=((Severity.WATCH, 1.0),))
    [score] = Scorer([watchlist]).score(Document("a" * 40 + "! war"))
    assert [c.term for c in score.contributions] == ["war"]


def test_config_check_refuses_a_lookbehind_with_file_line_and_field(tmp_path: Path) -> None:
    directory = write_config(tmp_path / "config", watchlists={"w": {
        "name": "w", "keywords": [{"term": "war", "weight": 2}, {"pattern": "(?<=nato )war", "weight": 3}],
        "severities": {"watch": 2}}})
    done = run_monitor("check", "--config", str(directory))
    assert done.returncode != 0
    assert "watchlists/w.yaml:" in done.stderr + done.stdout
    assert "keywords[1].pattern" in done.stderr + done.stdout or "keywords[1]" in done.stderr + done.stdout
    assert "RE2" in done.stderr + done.stdout
