"""The contributions of one watchlist for one item: matches -> an explained Score.

The contribution kinds and their rules are listed in scoring.py's docstring and in docs/scoring.md. This
module is the hot path for items that match something, so each watchlist is prepared once (`Prepared`)
and the common cases (no cue, no actor, no repeated term) skip the work they do not need.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from monitor.core.cues import Cue, is_cooperation
from monitor.core.damping import (
    Damping,
    Distances,
    Nearby,
    beside_act_damping,
    dampings_for,
    feature_opener,
    question_damping,
    same_sentence,
    topic_damping,
    topic_tag,
)
from monitor.core.matching import Hit
from monitor.core.neardup import normalise
from monitor.core.normalize import Folded, fold
from monitor.domain import Contribution, Keyword, Score, Watchlist

TITLE_FACTOR = 1.5
BODY_FACTOR = 1.0
REPEAT_DECAY = 0.5
MAX_OCCURRENCES = 4
SATURATION = 0.9
PROXIMITY_BONUS = 0.5
COOCCURRENCE_BONUS = 0.5
MAX_COOCCURRENCE_ACTORS = 3  # extra actors that earn the bonus
OWN, SHARED, YIELDS = 0, 1, 2  # where a keyword comes from (see _own_first)
EXAMPLE_LIKENESS = 70.0  # how alike (0-100) an item's title and an analyst's example must be to count
HEADLINE, SUMMARY, ARTICLE = "headline", "summary", "article"  # Contribution.part
# A clear act of force: the knowledge's grade above the acts whose words also report crimes, accidents and labour
# strikes ("killed", "strike", "bombs", "explosion": 4.5). Cooperation in its sentence is its setting (_beside_act).
CLEAR_ACT = 5.0


@dataclass(frozen=True, slots=True)
class Prepared:
    """A watchlist with what scoring looks up per match precomputed."""

    wl: Watchlist
    weights: tuple[float, ...]
    languages: tuple[str | None, ...]
    specificity: tuple[tuple[float, ...], ...]
    origin: tuple[int, ...]  # OWN, SHARED or YIELDS (shared and raising the score), by keyword index
    cooperation: tuple[bool, ...]  # a lowering term naming cooperation ("talks"), not a benign frame ("crash")
    # (+1 alert / -1 ignore, each example's normalised words sorted, the examples as written), for the kinds given
    examples: tuple[tuple[float, tuple[str, ...], tuple[str, ...]], ...]

    @classmethod
    def of(cls, wl: Watchlist) -> Prepared:
        examples = []
        for sign, texts in ((1.0, wl.examples.alert), (-1.0, wl.examples.ignore)):
            kept = [(_sorted_words(words), text) for text in texts if (words := normalise(text))]
            if kept:
                examples.append((sign, tuple(k for k, _ in kept), tuple(t for _, t in kept)))
        return cls(wl, tuple(kw.weight for kw in wl.keywords),
                   tuple(kw.language.split("-")[0].lower() if kw.language else None for kw in wl.keywords),
                   tuple(_specificity(kw) for kw in wl.keywords),
                   tuple(_origin(kw) for kw in wl.keywords),
                   tuple(kw.weight < 0 and not kw.regex and is_cooperation(fold(kw.term).text) for kw in wl.keywords),
                   tuple(examples))


@dataclass(slots=True)  # not frozen: made per item, and a frozen init costs several times as much
class ItemContext:
    """What every watchlist's explanation of one item shares (read, never written, once made)."""

    text: str  # Document.text: spans index into it
    title_end: int
    article_start: int  # where Document.article begins in `text` (past its end when there is none)
    folded: Folded
    language: str | None  # base code ("en") or unknown
    cue_hits: tuple[Hit, ...]
    cues: Sequence[Cue]
    openers: Sequence[Cue]  # the cues that open a headline (Cue.initial)

    def part(self, start: int) -> str:
        """Where a match at `start` was found: an analyst weighs a headline and an article's tenth paragraph apart."""
        return HEADLINE if start < self.title_end else ARTICLE if start >= self.article_start else SUMMARY


def explain(prepared: Prepared, item: ItemContext, hits: Sequence[Hit]) -> Score:
    wl = prepared.wl
    keywords: list[Hit] = []
    actors: list[Hit] = []
    for hit in hits:
        if hit.kind == "actor" or (hit.kind == "place" and _capitalised(item, hit)):
            actors.append(hit)
        elif hit.kind == "place":
            continue
        elif (lang := prepared.languages[hit.ref]) is None or item.language is None or lang == item.language:
            keywords.append(hit)
    keywords = _outermost(_own_first(keywords, prepared.origin, prepared.weights), prepared.specificity)
    actors = _outermost(actors, None)
    if wl.require_actor and not actors:
        return _no_actor(prepared, item, keywords)
    out: list[Contribution] = []
    names = _actors(wl, item, actors, out)
    terms = _Keywords(prepared, item, keywords, actors, out).run()
    if prepared.examples:
        _examples(prepared, item, out)
    if len(names) >= 2 and terms:  # actors meeting is news; actors meeting amid escalation language is the signal
        extra = min(len(names) - 1, MAX_COOCCURRENCE_ACTORS)
        second = next(h for h in actors if wl.actors[h.ref].name == names[1])
        _add(out, item, "cooccurrence", second, COOCCURRENCE_BONUS * extra, f"{len(names)} actors: {', '.join(names)}")
    total = round(sum(c.value for c in out), 3)
    return Score(wl.name, total, wl.severity_for(total), tuple(out), tuple(names), tuple(terms))


def _no_actor(prepared: Prepared, item: ItemContext, keywords: list[Hit]) -> Score:
    """A watchlist that requires an actor scores 0 an item that names none, whatever its terms. The explanation
    says so and names the escalation terms found, without weighing what is cancelled anyway: about a third of
    the items that match anything are of this kind, and weighing them was a third of the scoring time."""
    wl, weights = prepared.wl, prepared.weights
    if not any(weights[hit.ref] for hit in keywords):
        return Score(wl.name, 0.0, wl.severity_for(0.0))  # nothing to cancel (neutral senses only)
    terms = _written(item.text, [item.folded.span(hit.start, hit.end) for hit in keywords if weights[hit.ref] > 0])
    found = f"; found: {', '.join(terms)}" if terms else ""
    cancel = Contribution("no_actor", "", (0, 0), 0.0, f"the watchlist requires an actor and none is named{found}")
    return Score(wl.name, 0.0, wl.severity_for(0.0), (cancel,), (), tuple(terms))


def _written(text: str, spans: list[tuple[int, int]]) -> list[str]:
    """The escalation terms at `spans` as written, each once whatever its case (Score.terms)."""
    terms: dict[str, str] = {}
    for start, end in spans:
        terms.setdefault(text[start:end].casefold(), text[start:end])
    return list(terms.values())


def _examples(prepared: Prepared, item: ItemContext, out: list[Contribution]) -> None:
    """The analyst's examples: the closest `alert` and the closest `ignore` example, each when the item's title
    is at least EXAMPLE_LIKENESS alike (rapidfuzz token_sort_ratio on normalised words), worth the examples'
    weight times the likeness.

    token_sort_ratio is the plain ratio of the two texts' words sorted: the examples' are sorted once (Prepared), and
    rapidfuzz's extractOne compares the title with all of a kind's examples in one call (a watchlist of a thousand
    examples scored nine times slower when each was compared from Python)."""
    title = normalise(item.text[:item.title_end])
    if not title:
        return
    key = _sorted_words(title)
    for sign, choices, written in prepared.examples:
        found = process.extractOne(key, choices, scorer=fuzz.ratio, score_cutoff=EXAMPLE_LIKENESS)
        if found is None:
            continue
        likeness = found[1]
        kind = "alert" if sign > 0 else "ignore"
        out.append(Contribution("example", written[found[2]], (0, item.title_end),
                                round(sign * prepared.wl.examples.weight * likeness / 100, 3),
                                f"like {kind} example ({likeness:.0f}% alike)", HEADLINE))


def _sorted_words(text: str) -> str:
    return " ".join(sorted(text.split()))


def _capitalised(item: ItemContext, hit: Hit) -> bool:
    """A place counts only where written as a name: "Мирный" the town, not "мирный" the adjective."""
    start = item.folded.span(hit.start, hit.end)[0]
    return item.text[start:start + 1].isupper()


def _add(out: list[Contribution], item: ItemContext, kind: str, hit: Hit, value: float, detail: str) -> None:
    start, end = item.folded.span(hit.start, hit.end)
    out.append(Contribution(kind, item.text[start:end], (start, end), round(value, 3), detail, item.part(start)))


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
            if hit.kind == "place":
                detail = f"a place in {actor.name}"
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
    note: str = ""  # a rule that left the term's value as it was, for its detail

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
        self.distances: Distances | None = None
        if actors or item.cue_hits:
            words = max(h.last for h in itertools.chain(keywords, actors, item.cue_hits))
            self.distances = Distances(item.folded.text, keywords, words)
            self.near_cues, self.near_actors = Nearby(item.cue_hits), Nearby(actors)
            self.cue_window = max((item.cues[h.ref].window for h in item.cue_hits), default=0)

    def run(self) -> list[str]:
        evidence = [self._evidence(hit) for hit in self.keywords]
        _topic(evidence, self.item)
        _beside_act(evidence, self.item, self.prepared.cooperation)
        if "?" in self.item.folded.text:
            _questions(evidence, self.item.folded.text)
        _diminish(evidence)
        for ev in evidence:
            if ev.scale:
                self._emit(ev)
        return _written(self.item.text, [ev.span for ev in evidence if ev.weight > 0])

    def _evidence(self, hit: Hit) -> _Evidence:
        weight = self.prepared.weights[hit.ref]
        span = self.item.folded.span(hit.start, hit.end)
        in_title = span[0] < self.item.title_end
        dampings: list[Damping] = []
        near: tuple[int, str] | None = None
        note = ""
        if self.distances is not None and weight:
            dampings = dampings_for(hit, self.near_cues, self.item.cues, self.distances, self.cue_window)
            if weight < 0 and dampings and not self.prepared.cooperation[hit.ref]:
                dampings, note = _frame_kept(dampings, self.item)
            window = self.prepared.wl.proximity_window
            if weight > 0 and self.actors:
                nearby = self.near_actors.around(hit, *self.distances.reach(hit, window))
                gap, ref = min(((self.distances.gap(a, hit), a.ref) for a in nearby), default=(window + 1, 0))
                if gap <= window:
                    near = (gap, self.prepared.wl.actors[ref].name)
        return _Evidence(hit, span, weight, weight * (TITLE_FACTOR if in_title else BODY_FACTOR), in_title,
                         dampings, near, note=note)

    def _emit(self, ev: _Evidence) -> None:
        """The contributions of one occurrence: the term, each damping cue, the proximity bonus."""
        value = ev.base * ev.scale
        detail = f"weight {ev.weight:g}, title x{TITLE_FACTOR:g}" if ev.in_title else f"weight {ev.weight:g}"
        repeat = REPEAT_DECAY**ev.rank
        if ev.rank:
            detail += f", occurrence {ev.rank + 1} x{repeat:g}"
        if ev.scale != repeat:
            detail += f", saturation x{ev.scale / repeat:.3g}"
        if ev.note:
            detail += f"; {ev.note}"
        kind = "repetition" if ev.rank else "keyword" if ev.weight > 0 else "deescalation" if ev.weight else "neutral"
        text, out, part = self.item.text, self.out, self.item.part(ev.span[0])
        out.append(Contribution(kind, text[ev.span[0]:ev.span[1]], ev.span, round(value, 3), detail, part))
        for damping in ev.dampings:
            note = f"damps {text[ev.span[0]:ev.span[1]]!r} x{damping.factor:g}"
            _add(out, self.item, damping.kind, damping.cue, -(1 - damping.factor) * value,
                 f"{note} ({damping.detail})" if damping.detail else note)
            value *= damping.factor
        if ev.near is not None:
            out.append(Contribution("proximity", text[ev.span[0]:ev.span[1]], ev.span,
                                    round(PROXIMITY_BONUS * value, 3), f"{ev.near[0]} words from {ev.near[1]}", part))


def _topic(evidence: list[_Evidence], item: ItemContext) -> None:
    """Escalation terms in a headline's topic tag are its setting when the rest of the headline names no act; a
    feature's opening word after the tag ("Tierschutz - Warum ...") hedges the rest, as it does at the start."""
    if not any(ev.in_title and ev.weight > 0 for ev in evidence) or (tag := topic_tag(item.folded.text)) is None:
        return
    separator, title_end = tag
    if (opener := feature_opener(item.folded.text, separator, item.openers, item.language)) is not None:
        for ev in evidence:
            if ev.weight and opener.cue.end <= ev.hit.start < title_end:
                ev.dampings.append(opener)
    in_tag = [ev for ev in evidence if ev.weight > 0 and ev.hit.end <= separator.start]
    if in_tag and not any(ev.weight > 0 and separator.end <= ev.hit.start < title_end for ev in evidence):
        damping = topic_damping(separator)
        for ev in in_tag:
            if all(d.kind != "context" for d in ev.dampings):  # "nach Anschlag:" is background once
                ev.dampings.append(damping)


def _frame_kept(dampings: list[Damping], item: ItemContext) -> tuple[list[Damping], str]:
    """A benign frame (a lowering term that is not cooperation: a crash, a fire, an illness, a court, a match) keeps its
    value under a context cue: "15 killed after plane crashes" reports the deaths and their cause, the crash is not
    the background of another act. Returns the other dampings, and a note naming the cue left out."""
    kept = [d for d in dampings if d.kind != "context"]
    if len(kept) == len(dampings):
        return dampings, ""
    cue = next(d.cue for d in dampings if d.kind == "context")
    start, end = item.folded.span(cue.start, cue.end)
    return kept, f"a benign cause or frame: not made background by {item.text[start:end]!r}"


def _beside_act(evidence: list[_Evidence], item: ItemContext, cooperation: Sequence[bool]) -> None:
    """Cooperation named in the sentence of a clear act of force, itself undamped, is that act's setting: "Russia shells
    Kharkiv as peace talks open" reports the shelling. The cooperation term keeps CONTEXT_FACTOR of its value, so talks
    cannot cancel the act they are reported with. Cooperation already damped (negated, hedged, background) is left as
    it is."""
    acts = [ev for ev in evidence if ev.weight >= CLEAR_ACT and not ev.dampings]
    if not acts:
        return
    for ev in evidence:
        if ev.weight < 0 and not ev.dampings and cooperation[ev.hit.ref]:
            act = next((a for a in acts if same_sentence(item.folded.text, a.hit, ev.hit)), None)
            if act is not None:
                ev.dampings.append(beside_act_damping(act.hit))


def _questions(evidence: list[_Evidence], folded: str) -> None:
    """Terms in a question are hedged (damping.question_damping), once: a term a cue already hedges ("could Russia
    attack?") is one speculation, not two."""
    for ev in evidence:
        if ev.weight and all(d.kind != "hedge" for d in ev.dampings) and (q := question_damping(folded, ev.hit)):
            ev.dampings.append(q)


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

    # The kept matches never overlap, so a sorted list of their starts finds a new match's neighbours: the
    # check is O(log n), not a scan of everything kept (a document with thousands of matches stays linear).
    starts: list[int] = []
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.first - h.last, h.start - h.end, rank(h), h.start, h.ref)):
        i = bisect.bisect_left(starts, hit.start)
        if (i and kept[i - 1].end > hit.start) or (i < len(kept) and kept[i].start < hit.end):
            continue
        starts.insert(i, hit.start)
        kept.insert(i, hit)
    return kept


def _own_first(hits: list[Hit], origin: Sequence[int], weights: Sequence[float]) -> list[Hit]:
    """A shared term that would raise the score (origin YIELDS) gives way to a watchlist's own term (OWN) it
    overlaps and that weighs as much or more: a watchlist saying `nuclear: 30` means it, whatever the knowledge's
    "nuclear war". An own term that weighs less does not hide a more specific shared act around it: "terror
    attack" (8) still counts over a lexicon's "attack: 2.5" (the longer match then hides the shorter, as any
    does). A shared benign sense does not give way: "war film" still hides the watchlist's "war"."""
    own = [h for h in hits if origin[h.ref] == OWN]
    if not own or len(own) == len(hits):
        return hits
    starts = [h.start for h in own]  # hits come in text order
    longest = max(h.end - h.start for h in own)  # an own hit overlapping `hit` starts at most this far before it
    kept = []
    for hit in hits:
        if origin[hit.ref] == YIELDS:
            lo, hi = bisect.bisect_left(starts, hit.start - longest), bisect.bisect_left(starts, hit.end)
            if any(o.end > hit.start and weights[o.ref] >= weights[hit.ref] for o in own[lo:hi]):
                continue
        kept.append(hit)
    return kept


def _origin(kw: Keyword) -> int:
    return OWN if not kw.shared else YIELDS if kw.weight > 0 else SHARED


def _specificity(kw: Keyword) -> tuple[float, ...]:
    """Between matches of equal length: an exact term before a prefix ("warner" before "warn*"), a longer
    stem before a shorter one, then the larger weight."""
    return (kw.term.endswith("*") and not kw.regex, -len(kw.term), -abs(kw.weight))
