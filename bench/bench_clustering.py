"""Cost per item of story clustering as the window grows, against naive pairwise comparison.

    .venv/bin/python bench/bench_clustering.py [--sizes 10000,100000,300000] [--measure 2000] [--naive 50]

Items are synthetic, made from the shared corpus's real headlines and summaries (../shared/corpus/news): a
fresh item takes a random corpus item and replaces each word, with probability --mutate, by a word drawn from
the corpus's own word frequencies (so lengths, stopwords and vocabulary stay realistic while stories stay
distinct); one item in ten is instead a copy of one of the last thousand items, half verbatim and half with an
edited headline and a truncated summary (the exact-match and LSH-match paths). One index grows through the
sizes; at each size the next --measure items are timed (wall and CPU), and at the first size the same items
are also matched naively against every text in the window with the same rapidfuzz confirmation (rapidfuzz's
C loop, a sample of --naive items since each takes long). Peak memory is the process's peak RSS.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.core.clustering import CONFIRM, StoryIndex  # noqa: E402
from monitor.core.fingerprint import prepare  # noqa: E402
from monitor.feeds.parse import parse_feed  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "news"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Synthetic:
    title: str
    summary: str
    source: str


def corpus_texts() -> list[tuple[str, str]]:
    texts: dict[tuple[str, str], None] = {}
    for path in sorted(p for p in CORPUS.rglob("*") if p.is_file() and p.name != "MANIFEST.md"):
        for item in parse_feed(path.read_bytes(), feed=path.name, url="file:///x", now=T0).items:
            texts[(item.title, " ".join(item.summary.split()[:80]))] = None
    return list(texts)


class Generator:
    def __init__(self, texts: list[tuple[str, str]], mutate: float, seed: int) -> None:
        self.texts, self.mutate, self.rng = texts, mutate, random.Random(seed)
        counts = Counter(w for title, summary in texts for w in f"{title} {summary}".split())
        self.words, self.cumulative = list(counts), list(accumulate(counts.values()))
        self.recent: list[Synthetic] = []
        self.n = 0

    def _vary(self, text: str) -> str:
        words = text.split()
        draws = iter(self.rng.choices(self.words, cum_weights=self.cumulative, k=len(words)))
        return " ".join(next(draws) if self.rng.random() < self.mutate else w for w in words)

    def next(self) -> Synthetic:
        self.n += 1
        source = f"feed-{self.rng.randrange(500)}"
        if self.recent and self.rng.random() < 0.1:
            original = self.rng.choice(self.recent)
            if self.rng.random() < 0.5:
                return Synthetic(original.title, original.summary, source)
            words = original.title.split()
            if len(words) > 3:
                del words[self.rng.randrange(len(words))]
            return Synthetic(" ".join(words), original.summary[: max(40, len(original.summary) // 2)], source)
        title, summary = self.rng.choice(self.texts)
        item = Synthetic(self._vary(title), self._vary(summary), source)
        self.recent.append(item)
        if len(self.recent) > 1000:
            self.recent.pop(0)
        return item


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000,300000")
    parser.add_argument("--measure", type=int, default=2000, help="items timed at each size")
    parser.add_argument("--naive", type=int, default=50, help="items matched naively at the first size")
    parser.add_argument("--mutate", type=float, default=0.6)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if not CORPUS.is_dir():
        raise SystemExit(f"the corpus is needed for realistic text: not found at {CORPUS}")

    texts = corpus_texts()
    gen = Generator(texts, args.mutate, args.seed)
    print(f"corpus: {len(texts)} distinct title+summary texts; synthetic items: words replaced with p={args.mutate} "
          f"from corpus word frequencies, 10% copies or edited copies of recent items, 500 sources")
    rss0 = peak_rss_mb()
    index = StoryIndex()
    added = 0
    rows = []
    naive_per_item = None
    window: list[Synthetic] = []  # the texts of the first size, for the naive matcher
    for size in sizes:
        build = 0.0
        while added < size:
            item = gen.next()
            start = time.perf_counter()
            index.add(str(added), title=item.title, summary=item.summary, source=item.source,
                      at=T0 + timedelta(seconds=added))
            build += time.perf_counter() - start
            if naive_per_item is None:
                window.append(item)
            added += 1
        batch = [gen.next() for _ in range(args.measure)]
        wall, cpu = time.perf_counter(), time.process_time()
        new_stories = 0
        for item in batch:
            result = index.add(str(added), title=item.title, summary=item.summary, source=item.source,
                               at=T0 + timedelta(seconds=added))
            new_stories += result.is_new_story
            added += 1
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows.append((size, wall / args.measure * 1e6, cpu / args.measure * 1e6, len(index), peak_rss_mb(), build,
                     args.measure - new_stories))
        if naive_per_item is None:
            naive_per_item = naive(window, batch[: args.naive])
            window.clear()
    print(f"\n{'items in window':>16} {'us/item wall':>13} {'us/item cpu':>12} {'stories':>8} {'matched':>8} "
          f"{'peak RSS MB':>12} {'filling s':>9}")
    for size, wall_us, cpu_us, stories, rss, build, matched in rows:
        print(f"{size:>16,} {wall_us:>13.0f} {cpu_us:>12.0f} {stories:>8,} {matched:>8,} {rss:>12.0f} {build:>9.1f}")
    base_cpu = rows[0][2]
    print("\nratios (cpu per item vs the first size): " + ", ".join(
        f"{size:,}: {cpu_us / base_cpu:.2f}x" for size, _, cpu_us, *_ in rows))
    flat = max(r[2] for r in rows) / min(r[2] for r in rows)
    print(f"flat within a factor of 2: {'yes' if flat <= 2 else 'NO'} (max/min cpu per item {flat:.2f})")
    print(f"memory: {rss0:.0f} MB before the index, {rows[-1][4]:.0f} MB peak at {rows[-1][0]:,} items "
          f"(~{(rows[-1][4] - rss0) * 1024 * 1024 / added / 1024:.1f} KB per item)")
    if naive_per_item is not None:
        print(f"\nnaive pairwise at {sizes[0]:,} items (token_set_ratio of title and of title+lead against every "
              f"text, rapidfuzz C loop; {min(args.naive, args.measure)} items sampled): {naive_per_item:.0f} us/item "
              f"wall = {naive_per_item / rows[0][1]:.0f}x the LSH index; extrapolated to {sizes[-1]:,}: "
              f"{naive_per_item * sizes[-1] / sizes[0] / 1e3:.0f} ms/item")


def naive(window: list[Synthetic], batch: list[Synthetic]) -> float:
    """Every text in the window against the new one, with the index's own confirmation threshold."""
    texts = [prepare(item.title, item.summary) for item in window]
    titles, bodies = [t for t, _ in texts], [b for _, b in texts]
    start = time.perf_counter()
    for item in batch:
        title, body = prepare(item.title, item.summary)
        process.extractOne(body, bodies, scorer=fuzz.token_set_ratio, score_cutoff=CONFIRM)
        process.extractOne(title, titles, scorer=fuzz.token_set_ratio, score_cutoff=CONFIRM)
    return (time.perf_counter() - start) / max(len(batch), 1) * 1e6


if __name__ == "__main__":
    main()
