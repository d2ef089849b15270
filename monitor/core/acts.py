"""A learned second opinion on whether an item reports an act of force, as one more explained contribution.

The rules (scoring.py, explain.py) were written while reading the tuning parts of tests/data/realnews, and on
fresh items they reach fewer acts than there. A small multilingual model, multilingual-e5-small's embedding of the
item's headline and lead with a logistic regression over it (tests/data/realnews/train_acts.py), was measured on
the held-out parts as ranking acts above the rest better than the rules do (docs/scoring.md, "A learned second
opinion"). It is off by default (monitor.yaml `scoring.model`): it costs about 75 ms of CPU per item it reads.

Its contribution, `model`, is `WEIGHT * (clip(logit(p), -CLIP, CLIP) - OFFSET)`: from -6.75 (sure it is no act)
to +5.25 (sure it is one); p = 0.62 adds nothing. The weight and offset were chosen on the tuning parts with the
rules fixed, so the rules still decide most items. It is asked only where it can matter: a watchlist score that
names something (not an actor requirement left unmet) and that the largest lift could take to `warning`.

Pure: the embedding is computed behind `ActModel` (an adapter, monitor.feeds.acts_model); this module has the head's
arithmetic and the rules for using it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from monitor.domain import Contribution, Document, Score, Severity, Watchlist

WEIGHT = 1.5
CLIP = 4.0
OFFSET = 0.5
MAX_LIFT = WEIGHT * (CLIP - OFFSET)  # the most the contribution adds
LEAD_CHARS = 400  # of the summary: the labelled items' summaries were cut there, so the model saw no more
# The whole text: the labelled items' longest is 572 characters. The engine's time grows faster than the text
# (10,000 characters took 5 s here, a megabyte did not finish in two minutes) and a C call cannot be interrupted
# by the item time limit, so a hostile headline must not reach it whole.
MAX_CHARS = 600


class ActModel(Protocol):
    """How likely an item's text (`model_text`) reports an act of force, 0 to 1."""

    def probability(self, text: str) -> float: ...


def model_text(doc: Document) -> str:
    """What the model reads: the headline and the summary's first LEAD_CHARS characters (not the article), at most
    MAX_CHARS in all."""
    lead = doc.body.strip()[:LEAD_CHARS]
    return (f"{doc.title.strip()}. {lead}" if lead else doc.title.strip())[:MAX_CHARS]


@dataclass(frozen=True, slots=True)
class Head:
    """The trained head: standardise the embedding, then a logistic regression (the knowledge file acts-e5.json)."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Head:
        mean, scale, coef = (tuple(float(v) for v in data[key]) for key in ("mean", "scale", "coef"))
        if not len(mean) == len(scale) == len(coef) or not coef:
            raise ValueError(f"mean, scale and coef must be as long as each other (got {len(mean)}, {len(scale)}, "
                             f"{len(coef)})")
        if any(s <= 0 for s in scale):
            raise ValueError("scale: every value must be positive")
        return cls(mean, scale, coef, float(data["intercept"]))

    def probability(self, vector: Sequence[float]) -> float:
        if len(vector) != len(self.coef):
            raise ValueError(f"expected an embedding of {len(self.coef)} numbers, got {len(vector)}")
        z = self.intercept + sum(c * (v - m) / s for c, v, m, s in zip(self.coef, vector, self.mean, self.scale,
                                                                         strict=True))
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def value_of(p: float) -> float:
    """The contribution's value for probability `p`."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return WEIGHT * (min(max(math.log(p / (1 - p)), -CLIP), CLIP) - OFFSET)


def consulted(score: Score, watchlist: Watchlist) -> bool:
    """Whether the model is asked about this score: it found something, no unmet actor requirement cancelled it,
    and the largest lift could take it to the watchlist's `warning` threshold (its lowest one without a warning)."""
    if not score.contributions or any(c.kind == "no_actor" for c in score.contributions):
        return False
    thresholds = dict(watchlist.severities)
    target = thresholds.get(Severity.WARNING, min(thresholds.values(), default=0.0))
    return score.value + MAX_LIFT >= target


def with_model(score: Score, watchlist: Watchlist, p: float) -> Score:
    """`score` with the model's contribution added, its severity recomputed."""
    value = round(value_of(p), 3)
    # The term is what an alert's one-line list of contributions shows ("model '85% act of force' +1.9").
    contribution = Contribution("model", f"{p:.0%} act of force", (0, 0), value, f"learned model: an act of force, "
                                f"{p:.0%} likely (multilingual-e5-small, trained on labelled real news)")
    total = round(score.value + value, 3)
    return Score(score.watchlist, total, watchlist.severity_for(total), (*score.contributions, contribution),
                 score.actors, score.terms)
