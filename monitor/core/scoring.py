"""Watchlist scoring: a document -> one explained Score per applicable watchlist.

First version: case-insensitive whole-word keyword and actor-alias matches. The public surface
(`Scorer(watchlists).score(doc, tags=..., language=...)`) is what the service relies on.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.domain import Contribution, Document, Score, Watchlist

TITLE_FACTOR = 1.5


def _pattern(term: str) -> re.Pattern[str]:
    body = re.escape(term).replace(r"\*", r"\w*")
    return re.compile(rf"(?<!\w){body}(?!\w)", re.IGNORECASE)


class Scorer:
    def __init__(self, watchlists: Sequence[Watchlist]) -> None:
        self.watchlists = tuple(watchlists)
        self._compiled = {
            wl.name: (
                [(kw, re.compile(kw.term, re.IGNORECASE) if kw.regex else _pattern(kw.term)) for kw in wl.keywords],
                [(actor, [_pattern(a) for a in (actor.name, *actor.aliases)]) for actor in wl.actors],
            )
            for wl in self.watchlists
        }

    def score(self, doc: Document, *, tags: Sequence[str] = (), language: str | None = None) -> list[Score]:
        return [self._score_one(wl, doc) for wl in self.watchlists if _applies(wl, tags, language)]

    def _score_one(self, wl: Watchlist, doc: Document) -> Score:
        text = doc.text
        title_end = len(doc.title)
        keywords, actors = self._compiled[wl.name]
        contributions: list[Contribution] = []
        terms: list[str] = []
        for kw, pattern in keywords:
            for m in pattern.finditer(text):
                factor = TITLE_FACTOR if m.start() < title_end else 1.0
                contributions.append(Contribution("keyword", m.group(0), m.span(), kw.weight * factor))
                terms.append(m.group(0))
        found: list[str] = []
        for actor, patterns in actors:
            hits = [m for p in patterns for m in p.finditer(text)]
            if hits:
                first = min(hits, key=lambda m: m.start())
                contributions.append(Contribution("actor", first.group(0), first.span(), actor.weight))
                found.append(actor.name)
        value = round(sum(c.value for c in contributions), 3)
        if wl.require_actor and not found:
            value = 0.0
        return Score(wl.name, value, wl.severity_for(value), tuple(contributions), tuple(found), tuple(dict.fromkeys(terms)))


def _applies(wl: Watchlist, tags: Sequence[str], language: str | None) -> bool:
    if wl.tags and not set(wl.tags) & set(tags):
        return False
    return not (wl.languages and language and language.split("-")[0].lower() not in wl.languages)
