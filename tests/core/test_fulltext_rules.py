"""The pure rules of full text for candidates (issue 18): who is a candidate, what is scored, what is kept, and
how the explanation says where each contribution was found."""

from __future__ import annotations

import pytest

from monitor.core.fulltext import ArticleText, article_document, bounded, wants_article, with_fallback
from monitor.core.scoring import Scorer
from monitor.domain import Actor, Contribution, Document, Keyword, Score, Severity, Watchlist

WATCHLIST = Watchlist(
    "baltic", actors=(Actor("nato", "NATO", ("NATO",)), Actor("russia", "Russia", ("Russia", "Moscow"))),
    keywords=(Keyword("airspace violation", 4), Keyword("missile", 3), Keyword("ceasefire", -2)),
    severities=((Severity.WATCH, 4.0), (Severity.WARNING, 8.0), (Severity.CRITICAL, 12.0)))
NONE = Score("baltic", 0.0, Severity.NONE)
ACTOR_ONLY = Score("baltic", 1.0, Severity.NONE, (Contribution("actor", "NATO", (0, 4), 1.0),), ("NATO",))
WATCH = Score("baltic", 4.5, Severity.WATCH, (Contribution("keyword", "missile", (0, 7), 4.5),), (), ("missile",))


@pytest.mark.parametrize(("mode", "scores", "wanted"), [
    ("auto", [NONE], False), ("auto", [], False), ("auto", [NONE, WATCH], True), ("auto", [ACTOR_ONLY], True),
    ("always", [NONE], True), ("always", [], True), ("never", [WATCH], False), ("never", [ACTOR_ONLY], False),
])
def test_candidates_by_mode(mode: str, scores: list[Score], wanted: bool) -> None:
    assert wants_article(mode, scores) is wanted


def test_a_summary_the_article_repeats_is_scored_once() -> None:
    article = "Estonia said two jets violated its airspace on Monday.\nMoscow denied it."
    assert article_document("T", "Estonia said two jets violated its airspace …", article) == Document("T", "", article)
    assert article_document("T", "Estonia said two  jets violated\nits airspace [...]", article).body == ""
    assert article_document("T", "", article) == Document("T", "", article)
    kept = article_document("T", "A summary of its own.", article)
    assert kept == Document("T", "A summary of its own.", article)
    assert kept.text == "T\nA summary of its own.\n" + article


def test_bounded_cuts_at_a_word_within_the_bytes() -> None:
    assert bounded("short", 50_000) == "short"
    text = "Война " * 20_000  # two bytes a letter
    cut = bounded(text, 50_000)
    assert len(cut.encode()) <= 50_000 and cut.endswith("Война") and text.startswith(cut)
    assert bounded("x" * 100, 10) == "x" * 10  # no space to cut at: cut at the byte bound


def test_a_fallback_is_explained_but_changes_no_value() -> None:
    failed = ArticleText("failed", detail="timeout: no complete response within the 10s deadline")
    watch, none = with_fallback([WATCH, NONE], failed)
    assert watch.value == WATCH.value and watch.severity == WATCH.severity
    note = watch.contributions[-1]
    assert note.kind == "fulltext" and note.value == 0 and note.part == ""
    assert note.detail == ("article not read (failed: timeout: no complete response within the 10s deadline): "
                           "scored on the headline and summary")
    assert none == NONE  # nothing to explain on a score of nothing


def test_contributions_say_whether_they_came_from_the_headline_the_summary_or_the_article() -> None:
    doc = Document("NATO reports missile launch", "Estonia says Russia tested a missile.",
                   "An airspace violation followed, officials said.\nMoscow denied a missile was fired.")
    [score] = Scorer([WATCHLIST]).score(doc)
    parts = {(c.kind, c.term, c.part) for c in score.contributions}
    assert {("actor", "NATO", "headline"), ("keyword", "missile", "headline"), ("actor", "Russia", "summary"),
            ("repetition", "missile", "summary"), ("keyword", "airspace violation", "article"),
            ("repetition", "missile", "article")} <= parts
    for c in score.contributions:
        assert doc.text[c.span[0]:c.span[1]] == c.term
    headline = next(c for c in score.contributions if c.kind == "keyword" and c.part == "headline")
    article = next(c for c in score.contributions if c.kind == "keyword" and c.part == "article")
    assert headline.value == 3 * 1.5 and "title x1.5" in headline.detail  # the headline keeps its extra weight
    assert article.value <= 4 and "title" not in article.detail


def test_without_an_article_nothing_is_attributed_to_one() -> None:
    [score] = Scorer([WATCHLIST]).score(Document("NATO jets scramble", "After an airspace violation by Russia"))
    assert {c.part for c in score.contributions} <= {"headline", "summary", ""}
    assert {c.part for c in score.contributions if c.kind == "keyword"} == {"summary"}
