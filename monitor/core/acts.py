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

import numpy as np
import numpy.typing as npt

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
    """The trained head (the knowledge file acts-e5.json): a logistic regression over the standardised embedding, with
    the standardisation folded into its weights when it is read, so a reading is one dot product."""

    weights: tuple[float, ...]  # coef / scale
    bias: float  # intercept - sum(coef * mean / scale)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Head:
        mean, scale, coef = (tuple(float(v) for v in data[key]) for key in ("mean", "scale", "coef"))
        if not len(mean) == len(scale) == len(coef) or not coef:
            raise ValueError(f"mean, scale and coef must be as long as each other (got {len(mean)}, {len(scale)}, "
                             f"{len(coef)})")
        if any(s <= 0 for s in scale):
            raise ValueError("scale: every value must be positive")
        weights = tuple(c / s for c, s in zip(coef, scale, strict=True))
        return cls(weights, float(data["intercept"]) - sum(w * m for w, m in zip(weights, mean, strict=True)))

    def probability(self, vector: Sequence[float] | npt.NDArray[np.floating[Any]]) -> float:
        if len(vector) != len(self.weights):
            raise ValueError(f"expected an embedding of {len(self.weights)} numbers, got {len(vector)}")
        z = self.bias + float(np.dot(self.weights, np.asarray(vector, dtype=np.float64)))  # C, not 384 Python steps
        return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def value_of(p: float) -> float:
    """The contribution's value for probability `p`."""
    p = min(max(p, 1e-9), 1 - 1e-9)
    return WEIGHT * (min(max(math.log(p / (1 - p)), -CLIP), CLIP) - OFFSET)


def floor(watchlist: Watchlist) -> float:
    """The lowest score the model is asked about for `watchlist`: the largest lift below its `warning` threshold (its
    lowest threshold when it has no `warning`). Made once per watchlist (Scorer)."""
    thresholds = dict(watchlist.severities)
    return thresholds.get(Severity.WARNING, min(thresholds.values(), default=0.0)) - MAX_LIFT


def consulted(score: Score, lowest: float) -> bool:
    """Whether the model is asked about this score: it found something, no unmet actor requirement cancelled it, and
    it is at least `lowest` (`floor` of its watchlist), so the largest lift could take it to `warning`."""
    return (score.value >= lowest and bool(score.contributions)
            and not any(c.kind == "no_actor" for c in score.contributions))


def with_model(score: Score, watchlist: Watchlist, p: float) -> Score:
    """`score` with the model's contribution added, its severity recomputed."""
    value = round(value_of(p), 3)
    # The term is what an alert's one-line list of contributions shows ("model '85% act of force' +1.9").
    contribution = Contribution("model", f"{p:.0%} act of force", (0, 0), value, f"learned model: an act of force, "
                                f"{p:.0%} likely (multilingual-e5-small, trained on labelled real news)")
    total = round(score.value + value, 3)
    return Score(score.watchlist, total, watchlist.severity_for(total), (*score.contributions, contribution),
                 score.actors, score.terms)
