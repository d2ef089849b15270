"""The shipped configuration: the seed article, the headline set, the lexicons."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from monitor.config import load_lexicons
from monitor.core.cues import CUES
from monitor.core.evaluation import auc
from monitor.core.matching import compile_term
from monitor.core.scoring import Scorer
from monitor.domain import Document, Score, Severity, Watchlist
from tests.core.builders import CONFIG, SEED

HEADLINES = Path(__file__).with_name("headlines.yaml")


@pytest.fixture(scope="module")
def seed(shipped_scorer: Scorer) -> Score:
    [score] = shipped_scorer.score(Document.from_text(SEED.read_text(encoding="utf-8")))
    return score


def of_kind(score: Score, kind: str) -> list[str]:
    return [c.term for c in score.contributions if c.kind == kind]


def test_seed_article_score_and_severity(seed: Score) -> None:
    # A regression pin: a change to the scoring rules or the shipped lexicons moves it; update it on purpose.
    assert seed.value == pytest.approx(40.063, abs=0.001)
    assert seed.severity is Severity.CRITICAL  # its headline alone, as an item, scores 12.9: warning
    assert seed.value == round(sum(c.value for c in seed.contributions), 3)


def test_seed_article_actors(seed: Score) -> None:
    assert set(seed.actors) == {"Mark Rutte", "Sergei Lavrov", "Vladimir Putin", "Viktor Orbán", "Péter Szijjártó",
                                "NATO", "Russia", "European Union", "Ukraine"}
    fuzzy = [c for c in seed.contributions if c.kind == "actor" and "fuzzy" in c.detail]
    assert [(c.term, c.detail) for c in fuzzy] == [("Siarto", "Péter Szijjártó, fuzzy 86%")]
    assert "Viktor Orban" in of_kind(seed, "actor")  # written without the accent in the article


def test_seed_article_escalation_terms(seed: Score) -> None:
    terms = {t.casefold() for t in seed.terms}
    assert {"imminent", "conflict", "escalating", "war", "aggression", "hostilities", "attack", "invasion",
            "military buildup", "war with russia", "threat"} <= terms
    assert "award" not in terms  # "the award itself": no "war" inside it


def test_seed_article_denials_and_speculation_are_damped(seed: Score) -> None:
    damping = {(c.term, c.detail) for c in seed.contributions if c.kind in ("negation", "hedge")}
    assert ("will not", "damps 'war' x0.2") in damping  # "We will not allow ourselves to be drawn into your war"
    assert ("denied", "damps 'hostilities' x0.2") in damping  # "denied any intention to initiate hostilities"
    assert ("no desire to", "damps 'attack' x0.2") in damping  # "Moscow has no desire to attack Europe"
    assert ("might", "damps 'war with Russia' x0.5") in damping  # Orban: "might find itself in a war ..."
    assert ("by 2030", "damps 'war with Russia' x0.5") in damping
    assert ("could", "damps 'aggression' x0.5") in damping
    # A cue lowers what it damps; damping a de-escalation term ("whether talks ...") raises the score instead.
    lowering = {c.term for c in seed.contributions if c.kind == "deescalation"}
    assert all(c.value < 0 for c in seed.contributions
               if c.kind in ("negation", "hedge", "context") and c.detail.split("'")[1] not in lowering)


def test_headline_set_ranks_and_never_alerts_on_benign_words(shipped_scorer: Scorer,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """The written set pins rules (denials, speculation, benign senses, no watched actor): an analyst's
    `warning`/`critical` headline ranks above a `none` one, and nothing expected `none` alerts. How high a
    real act scores is measured on real news (tests/core/test_realnews.py), not on text we wrote."""
    cases = yaml.safe_load(HEADLINES.read_text(encoding="utf-8"))["headlines"]
    assert len(cases) >= 60
    report: dict[str, list[int]] = {}
    wrong: list[str] = []
    alerting: list[float] = []
    benign: list[float] = []
    for case in cases:
        [score] = shipped_scorer.score(Document(case["text"], case.get("body", "")), language=case.get("language"))
        expected = Severity.parse(case["expect"])
        if expected >= Severity.WARNING:
            alerting.append(score.value)
        elif expected is Severity.NONE:
            benign.append(score.value)
        for subset in ("all", case.get("set", "tuned")):
            counts = report.setdefault(subset, [0, 0, 0, 0, 0])  # tp, fp, fn, exact, n
            alert, should = score.severity >= Severity.WARNING, expected >= Severity.WARNING
            counts[0] += alert and should
            counts[1] += alert and not should
            counts[2] += should and not alert
            counts[3] += score.severity is expected
            counts[4] += 1
        if score.severity is not expected:
            wrong.append(f"  {score.value:6.2f} {score.severity.label:8} expected {expected.label:8} {case['text']}")
    with capsys.disabled():  # the figures are the point of this test: show them even when it passes
        print()
        for subset, (tp, fp, fn, exact, n) in report.items():
            precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
            print(f"headlines {subset:8} {n:3}: precision {precision:.3f} recall {recall:.3f} (alert = warning "
                  f"or above), severity exact {exact}/{n}")
        print(f"AUC, warning/critical against none: {auc(alerting, benign):.3f}")
        print("severity differs:\n" + "\n".join(wrong))
    tp, fp, fn, _, _ = report["all"]
    assert tp / (tp + fp) >= 0.95
    assert (auc(alerting, benign) or 0) >= 0.95


# --- the lexicons and the watchlist file ---

def test_every_lexicon_loads_and_is_named_after_its_file() -> None:
    lexicons = load_lexicons(CONFIG / "lexicons")
    assert {"escalation-common", "escalation-en", "escalation-ru", "escalation-uk", "escalation-de",
            "escalation-fr"} <= set(lexicons)
    for path in (CONFIG / "lexicons").glob("*.yaml"):
        assert path.stem in lexicons


def test_no_term_is_in_two_lexicons() -> None:
    """A language-tagged term only counts in its language: a shared word belongs in escalation-common."""
    seen: dict[str, str] = {}
    for name, lexicon in load_lexicons(CONFIG / "lexicons").items():
        for kw in lexicon.keywords:
            key = str(kw.term or kw.pattern).casefold()
            assert key not in seen, f"{key!r} is in both {seen[key]} and {name}"
            seen[key] = name


def test_every_term_and_cue_compiles() -> None:
    for lexicon in load_lexicons(CONFIG / "lexicons").values():
        for kw in lexicon.keywords:
            assert kw.pattern is not None or compile_term(str(kw.term)) is not None, kw
    for cue in CUES:
        assert compile_term(cue.phrase) is not None, cue


def test_shipped_watchlist(shipped: Watchlist) -> None:
    assert shipped.require_actor
    assert [a.id for a in shipped.actors if a.fuzzy] == ["lavrov", "szijjarto"]
    assert {kw.language for kw in shipped.keywords} >= {None, "en", "ru", "uk", "de", "fr"}
    assert [s for s, _ in shipped.severities] == [Severity.WATCH, Severity.WARNING, Severity.CRITICAL]
