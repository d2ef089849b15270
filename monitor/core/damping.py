"""Which negation and hedge cues govern a matched term, and how far apart two matches are.

Distances are counted in words of the WordView, not counting the words of the watchlist's own matched
keywords: "Putin threatens escalation and war" has "war" one word from Putin, as has "Putin threatens
war". That keeps an added escalation word from pushing another term out of an actor's or a cue's reach, so
adding escalation language never lowers a score.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from monitor.core.cues import HEDGE_FACTOR, Cue
from monitor.core.matching import Hit

# A cue's scope ends at a sentence end, a semicolon, a line break (the title ends with one) or a "but".
_CLAUSE_BREAK = re.compile(
    r"[.!?;\n]|\b(?:but|however|although|though|whereas|aber|jedoch|mais|cependant|pourtant|но|однако|але"
    r"|проте|однак)\b"
)


@dataclass(frozen=True, slots=True)
class Damping:
    cue: Hit
    factor: float
    kind: str  # "negation" or "hedge"
    detail: str = ""


class Distances:
    """Word gaps between matches in one item, skipping the words of the given term matches."""

    def __init__(self, folded: str, term_hits: Sequence[Hit]) -> None:
        self._folded = folded
        self._skip = sorted({w for h in term_hits for w in range(h.first, h.last)})
        self.skippable = len(self._skip)  # a raw gap can shrink by at most this much

    def gap(self, a: Hit, b: Hit) -> int:
        """Words strictly between two matches (0 if adjacent or overlapping), term words not counted."""
        if a.first > b.first:
            a, b = b, a
        lo, hi = a.last, b.first
        if hi <= lo:
            return 0
        return hi - lo - sum(1 for w in self._skip if lo <= w < hi)

    def same_clause(self, a: Hit, b: Hit) -> bool:
        lo, hi = (a.end, b.start) if a.start <= b.start else (b.end, a.start)
        return hi <= lo or _CLAUSE_BREAK.search(self._folded, lo, hi) is None


def dampings_for(term: Hit, cue_hits: Sequence[Hit], cues: Sequence[Cue], distances: Distances) -> list[Damping]:
    """The cues whose scope covers `term`, strongest first; their factors multiply.

    Overlapping cue matches ("will not" and "not") count once, as the strongest of them. Two adjacent
    negations ("does not rule out") read as a possibility: one hedge instead.
    """
    if not cue_hits:
        return []
    applying: list[tuple[Hit, Cue]] = []
    for hit in cue_hits:
        cue = cues[hit.ref]
        if hit.start < term.end and term.start < hit.end:
            continue  # overlapping the term itself
        before = hit.last <= term.first
        if (before and cue.direction == "post") or (not before and cue.direction == "pre"):
            continue
        if (term.first - hit.last if before else hit.first - term.last) - distances.skippable > cue.window:
            continue  # out of reach however many term words lie between: skip the exact count
        if distances.gap(hit, term) <= cue.window and distances.same_clause(hit, term):
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
