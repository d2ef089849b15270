"""Corroboration: distinct sources carrying a story add to its score, with diminishing returns. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.domain import Contribution, Score, Watchlist


@dataclass(frozen=True, slots=True)
class CorroborationPolicy:
    weight: float = 1.5  # points per doubling of distinct sources
    cap: float = 6.0  # the contribution never exceeds this (reached at 16 sources with the defaults)
    steps: tuple[int, ...] = (5, 20)  # source counts at which a story update goes out

    def __post_init__(self) -> None:
        if self.weight < 0 or self.cap < 0:
            raise ValueError("corroboration weight and cap must not be negative")
        if any(s < 2 for s in self.steps) or list(self.steps) != sorted(set(self.steps)):
            raise ValueError(f"corroboration steps must be ascending source counts of 2 or more, not {self.steps}")


DEFAULT_POLICY = CorroborationPolicy()


def corroboration(sources: int, policy: CorroborationPolicy = DEFAULT_POLICY) -> Contribution:
    """weight * log2(sources), at most cap: one source adds nothing, each doubling adds `weight`."""
    n = max(sources, 0)
    value = min(policy.cap, round(policy.weight * math.log2(n), 3)) if n > 1 else 0.0
    return Contribution("corroboration", f"{n} {'source' if n == 1 else 'sources'}", (0, 0), value,
                        f"+{policy.weight:g} per doubling of distinct sources, at most {policy.cap:g}")


def step_reached(sources: int, policy: CorroborationPolicy = DEFAULT_POLICY) -> int:
    """The highest corroboration step the source count has reached, 0 below the first."""
    return max((s for s in policy.steps if sources >= s), default=0)


def corroborated(score: Score, sources: int, watchlist: Watchlist,
                 policy: CorroborationPolicy = DEFAULT_POLICY) -> Score:
    """A story's score for one watchlist: its best item's score plus corroboration, severity recomputed.

    Corroboration amplifies, it never creates: a story that does not score for the watchlist stays as it is."""
    if score.value <= 0 or sources < 2:
        return score  # before building the bonus: most stories have one source (a replay asks for each item)
    bonus = corroboration(sources, policy)
    if bonus.value == 0:
        return score
    value = round(score.value + bonus.value, 3)
    # Not dataclasses.replace: a replay asks for each scored item of a story of several sources (3 times faster).
    return Score(score.watchlist, value, watchlist.severity_for(value), (*score.contributions, bonus), score.actors,
                 score.terms)
