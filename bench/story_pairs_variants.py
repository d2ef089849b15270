"""Precision and recall on the labelled pairs (tests/core/story_pairs.yaml) for the shipped StoryIndex and for
the plain design it grew from, so the difference is measured rather than claimed.

    .venv/bin/python bench/story_pairs_variants.py

plain: one MinHash LSH (same 128 permutations, 25x5 bands) over word 3-shingles of the whole normalised
title + summary, candidates confirmed with token_set_ratio >= 90 on that same text.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.core.clustering import CONFIRM, StoryIndex  # noqa: E402
from monitor.core.neardup import BandIndex, normalise, shingles, signature, similarity  # noqa: E402
from tests.support.newscorpus import find_item  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def shipped(a: tuple[str, str], b: tuple[str, str]) -> bool:
    index = StoryIndex()
    index.add("a", title=a[0], summary=a[1], source="A", at=T0)
    return not index.add("b", title=b[0], summary=b[1], source="B", at=T0 + timedelta(minutes=1)).is_new_story


def plain(a: tuple[str, str], b: tuple[str, str]) -> bool:
    index: BandIndex[str] = BandIndex()
    text_a, text_b = normalise(f"{a[0]} {a[1]}"), normalise(f"{b[0]} {b[1]}")
    index.insert(signature(shingles(text_a.split())), "a")
    found = index.query(signature(shingles(text_b.split())), 32)
    return bool(found) and similarity(text_a, text_b) >= CONFIRM


def main() -> None:
    pairs = yaml.safe_load((ROOT / "tests" / "core" / "story_pairs.yaml").read_text(encoding="utf-8"))["pairs"]
    loaded = []
    for pair in pairs:
        a = find_item(CORPUS, pair["a"]["file"], pair["a"]["title"])
        b = find_item(CORPUS, pair["b"]["file"], pair["b"]["title"])
        loaded.append((pair["label"], (a.title, a.summary), (b.title, b.summary)))
    for name, matcher in (("plain", plain), ("shipped", shipped)):
        merged = [(label, matcher(a, b)) for label, a, b in loaded]
        tp = sum(1 for label, m in merged if label == "same" and m)
        fp = sum(1 for label, m in merged if label == "different" and m)
        same = sum(1 for label, _ in merged if label == "same")
        events = [m for label, m in merged if label == "same_event"]
        print(f"{name:>8}: precision {tp / (tp + fp) if tp + fp else 1:.2f} recall {tp / same:.2f} "
              f"({tp}/{same} same, {fp} different merged, {sum(events)}/{len(events)} same-event merged)")


if __name__ == "__main__":
    main()
