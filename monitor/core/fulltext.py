"""Full text for candidates (issue 18), the pure rules: which new items have their article read, what reading
gave, the document a read article is scored as, and the bound on the text kept.

A candidate is a new item that reached `watch` on some watchlist, or names a watched actor, on its headline and
summary alone: the reporting that decides whether it is an escalation (who did what, who denied it) is in the
article, and reading every item's article would cost each publisher a request per item for nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from monitor.domain import Contribution, Document, Score, Severity

MODES = ("auto", "always", "never")  # feeds.yaml `fulltext:`; auto reads candidates only
MAX_TEXT = 50_000  # bytes of main text (UTF-8) kept and scored per item
_ELLIPSES = ".…[]() \u00a0"  # how feeds end a summary cut from the article ("…", "[...]", "(...)")


@dataclass(frozen=True, slots=True)
class ArticleText:
    """What reading one article gave. `status`: read, disallowed (robots.txt), failed (the fetch; `detail` says
    how), not_html, no_text (no main text an extractor recognises: a paywall, a video or gallery page) or skipped
    (the poll's time for articles ran out first). `text`: the main text, bounded, when read."""

    status: str
    text: str = ""
    detail: str = ""

    @property
    def read(self) -> bool:
        return self.status == "read" and bool(self.text)

    @property
    def label(self) -> str:
        """As stored on the item (`article_status`) and shown in the explanation of a fallback."""
        return f"{self.status}: {self.detail}" if self.detail else self.status


def wants_article(mode: str, scores: Sequence[Score]) -> bool:
    """Whether a new item's article is read, by its feed's `fulltext:` mode and its headline-and-summary scores."""
    if mode == "never":
        return False
    return mode == "always" or any(s.severity >= Severity.WATCH or s.actors for s in scores)


def article_document(title: str, summary: str, article: str) -> Document:
    """Headline, summary and article as one scored document. A summary the article repeats (its lede, often cut
    with an ellipsis) is left out: its terms would count twice, and the article has them in their context."""
    probe = " ".join(summary.split()).rstrip(_ELLIPSES)
    if probe and probe not in " ".join(article.split()):
        return Document(title, summary, article)
    return Document(title, "", article)


def bounded(text: str, max_bytes: int = MAX_TEXT) -> str:
    """At most `max_bytes` of UTF-8, cut after the last whole word that fits (never inside a character)."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    cut = data[:max_bytes].decode("utf-8", errors="ignore")
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return cut[:space].rstrip() if space > len(cut) // 2 else cut


def with_fallback(scores: Sequence[Score], article: ArticleText) -> list[Score]:
    """Scores of a candidate whose article could not be used, each explained as such: worth nothing, but an
    analyst reading the explanation must know the item was judged on its headline and summary alone."""
    note = Contribution("fulltext", "", (0, 0), 0.0,
                        f"article not read ({article.label}): scored on the headline and summary")
    return [replace(s, contributions=(*s.contributions, note)) if s.contributions else s for s in scores]
