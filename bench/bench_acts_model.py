"""What the learned second opinion (monitor.yaml scoring.model; monitor/core/acts.py) costs, against the rules alone,
in one run, on real news items.

    .venv/bin/python bench/bench_acts_model.py [--corpus ../shared/corpus/news] [--items 600]

Items: bench_scoring's (every entry of the news corpus, title + summary as the service scores them), a fixed random
sample. Watchlists: the shipped russia-nato watchlist as it ships (it requires an actor) and the "events" watchlist
of bench_realnews (its terms without actors): the model is asked about an item only where it can take a score to
`warning`, so how often it is asked depends on the watchlists. Figures, one process pinned to one CPU, one thread:
items/s of `Scorer.score` without and with the model, the share of items it read, its CPU per reading (title and
the summary's first 400 characters), and the resident memory its loading and first readings added (the weights
are memory-mapped: they count once read).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

from bench_realnews import events_watchlist  # noqa: E402
from bench_scoring import load_items  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.core.scoring import Scorer  # noqa: E402
from monitor.domain import Document, Watchlist  # noqa: E402
from monitor.feeds.acts_model import E5Acts  # noqa: E402
from monitor.feeds.embeddings import Embedder  # noqa: E402


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rate(scorer: Scorer, docs: Sequence[Document]) -> float:
    start = time.process_time()
    for doc in docs:
        scorer.score(doc)
    return len(docs) / (time.process_time() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus" / "news")
    parser.add_argument("--items", type=int, default=600)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    docs = random.Random(15).sample(load_items(args.corpus), args.items)
    [shipped] = load_config(HERE.parent / "config").watchlists
    print(f"{len(docs)} corpus items, one CPU, one thread\n")
    print(f"{'watchlist':10} {'rules items/s':>13} {'+ model items/s':>15} {'read by model':>13} {'ms a reading':>12}")
    before = rss_mb()
    model = E5Acts(embedder=Embedder(cache_size=0))  # every item a reading: the corpus has copies of texts
    loaded: float | None = None
    for name, watchlist in (("shipped", shipped), ("events", events_watchlist(shipped))):
        watchlists: list[Watchlist] = [watchlist]
        rules = Scorer(watchlists)
        rate(rules, docs[:50])  # warm
        plain = rate(rules, docs)
        counting = _Counting(model)
        with_model = Scorer(watchlists, model=counting)
        if loaded is None:
            with_model.score(Document("Missile strike on Kharkiv"))
            loaded = rss_mb() - before
        counting.readings = counting.seconds = 0
        both = rate(with_model, docs)
        per = 1000 * counting.seconds / counting.readings if counting.readings else 0.0
        print(f"{name:10} {plain:>13,.0f} {both:>15,.1f} {counting.readings / len(docs):>13.0%} {per:>12.1f}")
    print(f"\nresident memory: +{loaded or 0:.0f} MB after the first reading, +{rss_mb() - before:.0f} MB after all")
    return 0


class _Counting:
    """The real model, its readings counted and timed (CPU)."""

    def __init__(self, model: E5Acts) -> None:
        self.model, self.readings, self.seconds = model, 0, 0.0

    def probability(self, text: str) -> float:
        start = time.process_time()
        p = self.model.probability(text)
        self.seconds += time.process_time() - start
        self.readings += 1
        return p


if __name__ == "__main__":
    raise SystemExit(main())
