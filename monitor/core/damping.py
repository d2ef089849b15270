"""Which negation and hedge cues govern a matched term, and how far apart two matches are.

Distances are counted in words of the WordView, not counting the words of the watchlist's own matched
keywords: "Putin threatens escalation and war" has "war" one word from Putin, as has "Putin threatens
war". That keeps an added escalation word from pushing another term out of an actor's or a cue's reach, so
adding escalation language never lowers a score.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.cues import CONTEXT_FACTOR, HEDGE_FACTOR, Cue
from monitor.core.matching import CUE_OWNER, Hit

# A cue's scope ends at a sentence end, a semicolon, a line break (the title ends with one) or a "but".
_CLAUSE_BREAK = re.compile(
    r"[.!?;\n]|\b(?:but|however|although|though|whereas|aber|jedoch|mais|cependant|pourtant|но|однако|але"
    r"|проте|однак)\b"
)

# A sentence ends at "!", "?", ";", a line break (the title ends with one) or a full stop followed by a space, but not
# the full stop of a single letter ("U.S. brokers talks" is one sentence); "but" does not end one.
_SENTENCE_BREAK = re.compile(r"[!?;\n]|(?<!\b\w)\.(?:\s|$)")


# A comparison: a superlative or "first" just before a context cue ("the largest attack since the invasion", "самую
# масштабную с начала СВО атаку", "die schwersten Angriffe seit Kriegsbeginn"). The cue then frames only the first
# term after it (what the act is measured against); the act itself is what is new, wherever the language puts it.
_COMPARISON = re.compile(
    r"\b(?:largest|biggest|deadliest|worst|heaviest|fiercest|strongest|longest|most|first"
    r"|сам\w*|крупнейш\w*|масштабнейш\w*|мощнейш\w*|сильнейш\w*|перв\w*|наиболее"
    r"|най\w*|перш\w*"
    r"|grosst\w*|schwerst\w*|heftigst\w*|starkst\w*|erst\w*|meist\w*)\s+(?:[^\s]+\s+)?$"
)

# A headline's topic tag: the few words before its first ": ", " - " or " | " ("Anschlag in Magdeburg: Todesfahrer
# nutzte Rettungsweg", "Ukraine war - what we know"). Folding writes every dash as "-". The same separators end a
# statement that a question then asks about ("Fighting reaches Dnipropetrovsk region - how serious is it?"): the
# question does not hedge the words before them (question_damping).
_TOPIC_SEPARATOR = re.compile(r":\s|\s[-|]\s")
TOPIC_WORDS = 5
_QUOTES = "'\"‘’‚“”„«»‹›"


@dataclass(frozen=True, slots=True)
class Damping:
    cue: Hit
    factor: float
    kind: str  # "negation" or "hedge"
    detail: str = ""


class Distances:
    """Word gaps between matches in one item, skipping the words of the given term matches.

    `_kept[w]` counts the words before word w that are not term words, so a gap is one subtraction, and the
    matches within a window of a term are found by bisection: the cost of an item grows with its matches, not
    with their square (a hostile 1 MB document full of terms and cues scores in well under a second)."""

    def __init__(self, folded: str, term_hits: Sequence[Hit], words: int) -> None:
        self._folded = folded
        kept = bytearray(b"\x01") * words  # 1 for a word that counts, 0 for a word of a term
        for h in term_hits:
            kept[h.first:h.last] = bytes(len(kept[h.first:h.last]))
        self._kept = list(itertools.accumulate(kept, initial=0))

    def gap(self, a: Hit, b: Hit) -> int:
        """Words strictly between two matches (0 if adjacent or overlapping), term words not counted."""
        if a.first > b.first:
            a, b = b, a
        lo, hi = a.last, b.first
        return self._kept[hi] - self._kept[lo] if hi > lo else 0

    def terms_between(self, a: Hit, b: Hit) -> bool:
        """Whether words of a term match lie strictly between two matches."""
        if a.first > b.first:
            a, b = b, a
        lo, hi = a.last, b.first
        return hi > lo and self._kept[hi] - self._kept[lo] < hi - lo

    def compares(self, cue: Hit) -> bool:
        """Whether a superlative or "first" comes within two words before `cue` (see _COMPARISON)."""
        return _COMPARISON.search(self._folded, max(0, cue.start - 40), cue.start) is not None

    def same_clause(self, a: Hit, b: Hit) -> bool:
        lo, hi = (a.end, b.start) if a.start <= b.start else (b.end, a.start)
        return hi <= lo or _CLAUSE_BREAK.search(self._folded, lo, hi) is None

    def reach(self, hit: Hit, window: int) -> tuple[int, int]:
        """Word indexes [lo, hi]: a match ending at or after lo, or starting at or before hi, can be within
        `window` counted words of `hit`."""
        kept = self._kept
        lo = bisect.bisect_left(kept, kept[hit.first] - window)
        hi = bisect.bisect_right(kept, kept[min(hit.last, len(kept) - 1)] + window)
        return max(lo - 1, 0), hi


class Nearby:
    """Matches of one kind (cues, actors) indexed by where they end and where they start, for the ones near a
    term (Distances.reach)."""

    def __init__(self, hits: Sequence[Hit]) -> None:
        self.hits = hits
        lasts = [h.last for h in hits]
        self._by_last = sorted(range(len(hits)), key=lasts.__getitem__)
        self._lasts = [lasts[i] for i in self._by_last]
        self._firsts = [h.first for h in hits]  # hits come in text order

    def around(self, term: Hit, lo: int, hi: int) -> list[Hit]:
        """The matches ending between words lo and hi, or starting between the term and word hi: every one
        that can lie within the window Distances.reach gave, in text order."""
        found = {self._by_last[k] for k in range(bisect.bisect_left(self._lasts, lo),
                                                 bisect.bisect_right(self._lasts, hi))}
        found.update(range(bisect.bisect_left(self._firsts, term.first), bisect.bisect_right(self._firsts, hi)))
        return [self.hits[i] for i in sorted(found)]


def dampings_for(term: Hit, cue_hits: Nearby, cues: Sequence[Cue], distances: Distances,
                 window: int) -> list[Damping]:
    """The cues whose scope covers `term`, strongest first; their factors multiply. `window`: the widest cue
    window, which bounds the search.

    Overlapping cue matches ("will not" and "not") count once, as the strongest of them. Two adjacent
    negations ("does not rule out") read as a possibility: one hedge instead.
    """
    if not cue_hits.hits:
        return []
    applying: list[tuple[Hit, Cue]] = []
    for hit in cue_hits.around(term, *distances.reach(term, window)):
        cue = cues[hit.ref]
        if hit.start < term.end and term.start < hit.end:
            continue  # overlapping the term itself
        before = hit.last <= term.first
        if (before and cue.direction == "post") or (not before and cue.direction == "pre"):
            continue
        if distances.gap(hit, term) <= cue.window and distances.same_clause(hit, term):
            if cue.kind == "context" and before and distances.terms_between(hit, term) and distances.compares(hit):
                continue  # the compared act after the measure ("largest since the war began" attack)
            applying.append((hit, cue))
    if not applying:
        return []
    groups: list[tuple[Hit, Cue]] = []
    for hit, cue in sorted(applying, key=lambda a: (a[1].factor, a[0].first - a[0].last, a[0].start)):
        if all(hit.end <= h.start or h.end <= hit.start for h, _ in groups):
            groups.append((hit, cue))
    groups.sort(key=lambda g: g[0].start)
    result: list[Damping] = []
    i = 0
    while i < len(groups):
        hit, cue = groups[i]
        nxt = groups[i + 1] if i + 1 < len(groups) else None
        if (nxt is not None and cue.kind == "negation" == nxt[1].kind and cue.phrase != nxt[1].phrase
                and distances.gap(hit, nxt[0]) <= 1):
            result.append(Damping(hit, HEDGE_FACTOR, "hedge", "double negation reads as a possibility"))
            i += 2
            continue
        result.append(Damping(hit, cue.factor, cue.kind))
        i += 1
    return sorted(result, key=lambda d: (d.factor, d.cue.start))


def same_sentence(folded: str, a: Hit, b: Hit) -> bool:
    """Whether two matches are in one sentence of the folded text (a wider unit than a cue's clause: "Russia strikes
    Kyiv, but talks go on" is one sentence of two clauses)."""
    lo, hi = (a.end, b.start) if a.start <= b.start else (b.end, a.start)
    return hi <= lo or _SENTENCE_BREAK.search(folded, lo, hi) is None


def question_damping(folded: str, term: Hit) -> Damping | None:
    """A term in a question ("Will Russia attack?", "Hätte der Anschlag verhindert werden können?") is asked about, not
    reported: a hedge, shown against the question mark that ends its sentence. None for a term in a statement."""
    end = _SENTENCE_BREAK.search(folded, term.end)
    if end is None or end.group() != "?" or _TOPIC_SEPARATOR.search(folded, term.end, end.start()):
        return None
    return Damping(Hit(CUE_OWNER, "cue", -1, end.start(), end.end(), 0, 0), HEDGE_FACTOR, "hedge", "in a question")


def topic_tag(folded: str) -> tuple[Hit, int] | None:
    """The separator that ends a headline's topic tag (1 to TOPIC_WORDS words before it, words after it), as a
    cue-like match, and where the headline ends; in folded text. None for a headline without one."""
    end = folded.find("\n")
    end = len(folded) if end < 0 else end
    sep = _TOPIC_SEPARATOR.search(folded, 0, end)
    if sep is None or not folded[sep.end():end].strip():
        return None
    tag = folded[:sep.start()].split()
    if not tag or len(tag) > TOPIC_WORDS or tag[0][0] in _QUOTES:
        return None  # a quotation before the colon is what someone said, not a topic
    return Hit(CUE_OWNER, "cue", -1, sep.start(), sep.end(), 0, 0), end


def topic_damping(separator: Hit) -> Damping:
    """An act named only in the headline's topic tag is the setting of what the headline reports ("Anschlag in
    Magdeburg: Musk fordert Rücktritt"), as an act after "since" is."""
    return Damping(separator, CONTEXT_FACTOR, "context", "named in the headline's topic, not in its news")


def beside_act_damping(act: Hit) -> Damping:
    """Cooperation in the sentence of a clear act of force is the act's setting ("shells Kharkiv as peace talks open"),
    shown against the act that makes it so."""
    return Damping(act, CONTEXT_FACTOR, "context", "named beside an act of force in the same sentence")


def feature_opener(folded: str, separator: Hit, openers: Sequence[Cue], language: str | None) -> Damping | None:
    """A feature's opening word right after the headline's topic tag ("Tierschutz - Warum Küken ...", "Corpses
    for Cash: How ..."): an initial cue (cues.py; `openers` are those) where the headline proper begins, hedging
    the rest of it as it does at the start."""
    rest = folded[separator.end:]
    for cue in openers:  # only headlines with a tag and an act in them get here: a plain loop is cheap enough
        phrase = cue.phrase
        if (rest.startswith(phrase) and not rest[len(phrase):len(phrase) + 1].isalnum()
                and (not cue.languages or language is None or language in cue.languages)):
            opener = Hit(CUE_OWNER, "cue", -1, separator.end, separator.end + len(phrase), 0, 0)
            return Damping(opener, cue.factor, cue.kind, "a feature opens after the headline's topic")
    return None

