"""The contributions of one watchlist for one item: matches -> an explained Score.

The contribution kinds and their rules are listed in scoring.py's docstring and in docs/scoring.md. This
module is the hot path for items that match something, so each watchlist is prepared once (`Prepared`)
and the common cases (no cue, no actor, no repeated term) skip the work they do not need.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.cues import Cue
from monitor.core.damping import Damping, Distances, dampings_for
from monitor.core.matching import Hit
from monitor.core.normalize import Folded
from monitor.domain import Contribution, Keyword, Score, Watchlist

TITLE_FACTOR = 1.5
BODY_FACTOR = 1.0
REPEAT_DECAY = 0.5
MAX_OCCURRENCES = 4
SATURATION = 0.9
PROXIMITY_BONUS = 0.5
COOCCURRENCE_BONUS = 0.5
MAX_COOCCURRENCE_ACTORS = 3  # extra actors that earn the bonus


@dataclass(frozen=True, slots=True)
class Prepared:
    """A watchlist with what scoring looks up per match precomputed."""

    wl: Watchlist
    weights: tuple[float, ...]
    languages: tuple[str | None, ...]
    specificity: tuple[tuple[float, ...], ...]

    @classmethod
    def of(cls, wl: Watchlist) -> Prepared:
        return cls(wl, tuple(kw.weight for kw in wl.keywords),
                   tuple(kw.language.split("-")[0].lower() if kw.language else None for kw in wl.keywords),
                   tuple(_specificity(kw) for kw in wl.keywords))


@dataclass(frozen=True, slots=True)
class ItemContext:
    """What every watchlist's explanation of one item shares."""

    text: str  # Document.text: spans index into it
    title_end: int
    folded: Folded
    language: str | None  # base code ("en") or unknown
    cue_hits: tuple[Hit, ...]
    cues: Sequence[Cue]


def explain(prepared: Prepared, item: ItemContext, hits: Sequence[Hit]) -> Score:
    wl = prepared.wl
    keywords: list[Hit] = []
    actors: list[Hit] = []
    for hit in hits:
        if hit.kind == "actor":
            actors.append(hit)
        elif (lang := prepared.languages[hit.ref]) is None or item.language is None or lang == item.language:
            keywords.append(hit)
    keywords = _outermost(keywords, prepared.specificity)
    actors = _outermost(actors, None)
    out: list[Contribution] = []
    names = _actors(wl, item, actors, out)
    terms = _Keywords(prepared, item, keywords, actors, out).run()
    if len(names) >= 2 and terms:  # actors meeting is news; actors meeting amid escalation language is the signal
        extra = min(len(names) - 1, MAX_COOCCURRENCE_ACTORS)
        second = next(h for h in actors if wl.actors[h.ref].name == names[1])
        _add(out, item, "cooccurrence", second, COOCCURRENCE_BONUS * extra, f"{len(names)} actors: {', '.join(names)}")
    total = round(sum(c.value for c in out), 3)
    if wl.require_actor and not names and total:
        out.append(Contribution("no_actor", "", (0, 0), -total, "the watchlist requires an actor"))
        total = 0.0
    return Score(wl.name, total, wl.severity_for(total), tuple(out), tuple(names), tuple(terms))


def _add(out: list[Contribution], item: ItemContext, kind: str, hit: Hit, value: float, detail: str) -> None:
    start, end = item.folded.span(hit.start, hit.end)
    out.append(Contribution(kind, item.text[start:end], (start, end), round(value, 3), detail))


def _actors(wl: Watchlist, item: ItemContext, actors: list[Hit], out: list[Contribution]) -> list[str]:
    """One `actor` contribution per actor, at its first mention; returns the names in order."""
    names: dict[int, str] = {}
    for hit in actors:
        if hit.ref not in names:
            actor = wl.actors[hit.ref]
            names[hit.ref] = actor.name
            start = item.folded.span(hit.start, hit.end)[0]
            factor = TITLE_FACTOR if start < item.title_end else BODY_FACTOR
            detail = actor.name if hit.similarity >= 100 else f"{actor.name}, fuzzy {hit.similarity:.0f}%"
            _add(out, item, "actor", hit, actor.weight * factor, detail)
    return list(names.values())


@dataclass(slots=True)
class _Evidence:
    """One keyword occurrence, before diminishing returns set its `rank` and `scale`."""

    hit: Hit
    span: tuple[int, int]  # in Document.text
    weight: float
    base: float  # weight x title/body factor
    in_title: bool
    dampings: list[Damping]
    near: tuple[int, str] | None  # (words, actor name) of the nearest actor within the window
    rank: int = 0  # among occurrences of the same term, strongest first
    scale: float = 1.0  # repetition x saturation

    @property
    def total(self) -> float:
        """Its value at full scale before damping: the ranking key of diminishing returns."""
        return abs(self.base) * (1 + PROXIMITY_BONUS) if self.near is not None else abs(self.base)


class _Keywords:
    """keyword, deescalation, repetition, neutral, negation, hedge and proximity contributions."""

    def __init__(self, prepared: Prepared, item: ItemContext, keywords: list[Hit], actors: list[Hit],
                 out: list[Contribution]) -> None:
        self.prepared, self.item, self.keywords, self.actors, self.out = prepared, item, keywords, actors, out
        # Distances skip the words of the watchlist's own matched terms (see damping.py).
        self.distances = Distances(item.folded.text, keywords) if actors or item.cue_hits else None

    def run(self) -> list[str]:
        evidence = [self._evidence(hit) for hit in self.keywords]
        _diminish(evidence)
        terms: dict[str, str] = {}
        text = self.item.text
        for ev in evidence:
            if ev.scale:
                self._emit(ev)
            if ev.weight > 0:
                written = text[ev.span[0]:ev.span[1]]
                terms.setdefault(written.casefold(), written)
        return list(terms.values())

    def _evidence(self, hit: Hit) -> _Evidence:
        weight = self.prepared.weights[hit.ref]
        span = self.item.folded.span(hit.start, hit.end)
        in_title = span[0] < self.item.title_end
        dampings: list[Damping] = []
        near: tuple[int, str] | None = None
        if self.distances is not None and weight:
            dampings = dampings_for(hit, self.item.cue_hits, self.item.cues, self.distances)
            if weight > 0 and self.actors:
                gap, ref = min((self.distances.gap(a, hit), a.ref) for a in self.actors)
                if gap <= self.prepared.wl.proximity_window:
                    near = (gap, self.prepared.wl.actors[ref].name)
        return _Evidence(hit, span, weight, weight * (TITLE_FACTOR if in_title else BODY_FACTOR), in_title,
                         dampings, near)

    def _emit(self, ev: _Evidence) -> None:
        """The contributions of one occurrence: the term, each damping cue, the proximity bonus."""
        value = ev.base * ev.scale
        detail = f"weight {ev.weight:g}, title x{TITLE_FACTOR:g}" if ev.in_title else f"weight {ev.weight:g}"
        repeat = REPEAT_DECAY**ev.rank
        if ev.rank:
            detail += f", occurrence {ev.rank + 1} x{repeat:g}"
        if ev.scale != repeat:
            detail += f", saturation x{ev.scale / repeat:.3g}"
        kind = "repetition" if ev.rank else "keyword" if ev.weight > 0 else "deescalation" if ev.weight else "neutral"
        text, out = self.item.text, self.out
        out.append(Contribution(kind, text[ev.span[0]:ev.span[1]], ev.span, round(value, 3), detail))
        for damping in ev.dampings:
            note = f"damps {text[ev.span[0]:ev.span[1]]!r} x{damping.factor:g}"
            _add(out, self.item, damping.kind, damping.cue, -(1 - damping.factor) * value,
                 f"{note} ({damping.detail})" if damping.detail else note)
            value *= damping.factor
        if ev.near is not None:
            out.append(Contribution("proximity", text[ev.span[0]:ev.span[1]], ev.span,
                                    round(PROXIMITY_BONUS * value, 3), f"{ev.near[0]} words from {ev.near[1]}"))


def _diminish(evidence: list[_Evidence]) -> None:
    """Diminishing returns, strongest evidence first, ranked by value before damping (so a denied term
    shows its damping in full, and adding an undamped term never lowers a score):

    repetition: the occurrences of one term count 1, 0.5, 0.25, 0.125, then no more (a zero-weight term
    is listed once);
    saturation: in the body, all escalation (and separately all de-escalation) occurrences, ranked by their
    value after repetition, count 1, SATURATION, SATURATION^2 ... so a long article does not outscore a
    sharp headline by sheer length. Titles are short and count in full.
    """
    if len(evidence) < 2:
        return
    if len({ev.hit.ref for ev in evidence}) < len(evidence):
        by_term: dict[int, list[_Evidence]] = {}
        for ev in evidence:
            by_term.setdefault(ev.hit.ref, []).append(ev)
        for group in by_term.values():
            group.sort(key=lambda e: (-e.total, e.hit.start))
            for rank, ev in enumerate(group):
                ev.rank = rank
                ev.scale = REPEAT_DECAY**rank if rank < MAX_OCCURRENCES and (ev.weight or not rank) else 0.0
    for sign in (1, -1):
        body = [e for e in evidence if e.weight * sign > 0 and e.scale and not e.in_title]
        if len(body) > 1:
            body.sort(key=lambda e: (-e.total * e.scale, e.hit.start))
            for k, ev in enumerate(body):
                ev.scale *= SATURATION**k


def _outermost(hits: list[Hit], specificity: Sequence[tuple[float, ...]] | None) -> list[Hit]:
    """Resolve overlapping matches: the longest wins ("nuclear strike" over "strike", "war with Russia" over
    "at war"), then the more specific keyword (`specificity` by keyword index) or the closer fuzzy match;
    the result is in text order."""
    if len(hits) < 2 or all(a.end <= b.start for a, b in itertools.pairwise(hits)):
        return hits  # the matcher gives hits in text order: no overlap, nothing to resolve

    def rank(h: Hit) -> tuple[float, ...]:
        return specificity[h.ref] if specificity is not None else (-h.similarity,)

    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.first - h.last, h.start - h.end, rank(h), h.start, h.ref)):
        if all(hit.end <= k.start or k.end <= hit.start for k in kept):
            kept.append(hit)
    return sorted(kept, key=lambda h: h.start)


def _specificity(kw: Keyword) -> tuple[float, ...]:
    """Between matches of equal length: an exact term before a prefix ("warner" before "warn*"), a longer
    stem before a shorter one, then the larger weight."""
    return (kw.term.endswith("*") and not kw.regex, -len(kw.term), -abs(kw.weight))
