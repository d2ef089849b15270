"""Watchlist patterns run on RE2: linear time, and the same matches as Python's engine where both apply."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.core.patterns import Gate, PatternError, compile_pattern, required_literals
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
    ("(?:" * 5000 + "war" + ")" * 5000, "groups nested too deeply"),
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
    assert gate._regex is not None or not gate._rest  # joined, not the fall-back that lets everything through
    if any(list(p.spans(text)) for p in patterns):
        assert gate.may_match(text)
    if not any(p._regex.search(text) for p in patterns):
        assert not gate.may_match(text)


@settings(max_examples=300, deadline=None)
@given(st.data(), st.lists(st.tuples(_ATOMS, _QUANTIFIERS), min_size=1, max_size=5),
       st.sampled_from(["", "war", "Nato", "удар", "(?:strike|attack)", "(?:air|naval)?strikes?"]))
def test_every_match_holds_a_required_literal(data: st.DataObject, parts: list[tuple[str, str]], word: str) -> None:
    """The gate looks only for a pattern's required literals: any text the pattern matches must hold one."""
    source = word + "".join(atom + quantifier for atom, quantifier in parts) + word
    literals = required_literals(source)
    assume(literals is not None)
    assert literals is not None
    flags = re.IGNORECASE if any(c.isupper() for c in source) else 0
    text = data.draw(st.from_regex(re.compile(source, flags)))
    assert any(m.end() > m.start() for m in re.finditer(source, text, flags))
    assert any(literal in text.lower() for literal in literals)


@pytest.mark.parametrize(("source", "literals"), [
    (r"violat\w* (?:\w+ ){0,2}airspace\b", {"airspace"}),  # the longer of two required runs
    (r"\b(?:warplanes?|fighter jets?) (?:flew )?over\b", {"warplane", "fighter jet"}),  # every branch
    (r"ракет\w+ удар", {"ракет"}),
    (r"Putin|NATO", {"putin", "nato"}),  # lowercase, as the folded text is
    (r"(a+)+$", None), (r"(?:strike|x)+", None), (r"(?:air)?strike", {"strike"}), (r"\w+", None),
])
def test_required_literals(source: str, literals: set[str] | None) -> None:
    assert required_literals(source) == (None if literals is None else frozenset(literals))


def test_gate_searches_only_the_patterns_whose_literals_occur() -> None:
    sources = (r"\blaunch\w* strikes?\b", r"\d\d+", r"airspace\b")  # " strike", nothing of 3+, "airspace"
    gate = Gate([compile_pattern(s) for s in sources])
    assert gate.candidates("they launched strikes") == [0]
    assert gate.candidates("the launch site") == []
    assert gate.candidates("12 jets in the airspace, a strike") == [0, 1, 2]  # the literal-less one by RE2
    assert gate.candidates("1 jet in the airspace") == [2]


def test_gate_reads_each_pattern_with_its_own_case() -> None:
    # Patterns without a literal of 3+ characters share one RE2 search: each keeps its case flag in it.
    lower, capital = compile_pattern(r"na\w+"), compile_pattern(r"Pu\w+")  # a capital makes a pattern case-blind
    assert Gate([lower, capital]).may_match("PUTIN") and not Gate([lower, capital]).may_match("NATO")
    # Literals are looked up in the lowercase text: a case-blind pattern's are found in any case.
    assert Gate([compile_pattern("Putin")]).may_match("PUTIN")


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
