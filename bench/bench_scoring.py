"""Scoring throughput against watchlist size, and against a naive baseline, on real news items.

    .venv/bin/python bench/bench_scoring.py [--corpus ../shared/corpus/news] [--quick]

Items: every entry of the news corpus, parsed with feedparser, HTML stripped, title + summary as the
service scores them, duplicates dropped. The items are split in two: terms are drawn from the vocabulary of
one half and the other half is scored, so terms are not guaranteed to occur in the items they are matched
against (as with a real watchlist).

Watchlists: the shipped russia-nato watchlist (its lexicons and actors, matched for real) plus ten synthetic
watchlists bringing the total number of terms (keywords plus actor aliases) to 2,500, 10,000 and 50,000
(the shipped watchlist alone has about 1,800 with the shared knowledge and its regions, and the fixed scenario adds
300 terms found in the items, so the smallest size is 2,500).
The synthetic terms are watchlist-like: two- and three-word phrases and rare single words, each found in
exactly one item of the other half. Three scenarios:
  fixed    the same 300 synthetic terms that do occur in the scored items at every size, the rest of the
           terms occurring in none of them: the work of explaining matches is the same at every size, so
           the rows show how the cost depends on the number of terms (the targets are checked here);
  phrases  the synthetic terms drawn at random: bigger watchlists also match more often, and every match
           is explained, so the cost grows with the matches found;
  words    single content words, frequent or not: a stress test in which most words of an item match
           some watchlist. The corpus has fewer distinct content words than 50,000: that row has them all.

Throughput is CPU time of this process, pinned to one CPU where the OS allows, best of three runs, of the
full `Scorer.score` (fold, match, explain). The naive baseline, in the same run, only searches one compiled
case-insensitive whole-word regex per term (no scoring, which flatters it); it is too slow to run on every
item, so it runs on a sample whose size is printed. Peak memory is tracemalloc's peak while compiling
(the automaton, the compiled terms and the per-watchlist tables).
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import random
import re
import sys
import time
import tracemalloc
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import feedparser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import load_watchlist_file  # noqa: E402
from monitor.core.html import html_to_text  # noqa: E402
from monitor.core.normalize import WordView, fold  # noqa: E402
from monitor.core.scoring import Scorer, compiled  # noqa: E402
from monitor.domain import Actor, Document, Keyword, Severity, Watchlist  # noqa: E402

SIZES = (2_500, 10_000, 50_000)
NAIVE_SAMPLE = {2_500: 200, 10_000: 60, 50_000: 15}  # items the naive matcher searches, per size
SYNTHETIC_WATCHLISTS = 10
FIXED_PRESENT = 300
SCENARIOS = ("fixed", "phrases", "words")


def load_items(corpus: Path) -> list[Document]:
    warnings.filterwarnings("ignore")
    docs: dict[tuple[str, str], Document] = {}
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        parsed = feedparser.parse(io.BytesIO(path.read_bytes()))
        for entry in parsed.entries:
            title = html_to_text(entry.get("title", ""))
            body = html_to_text(entry.get("summary", ""))
            if title or body:
                docs[(title, body)] = Document(title, body)
    return list(docs.values())


class Vocabulary:
    """Candidate terms from a set of items, folded, without the 300 most frequent words."""

    def __init__(self, docs: Sequence[Document]) -> None:
        counts: Counter[str] = Counter()
        documents: Counter[tuple[str, ...]] = Counter()  # in how many items a word, pair or triple occurs
        for doc in docs:
            words = WordView(fold(doc.text).text).text.split()
            counts.update(words)
            grams = {(w,) for w in words} | set(itertools.pairwise(words))
            documents.update(grams | set(zip(words, words[1:], words[2:], strict=False)))
        common = {w for w, _ in counts.most_common(300)}
        self.words = sorted(w for w in counts if w not in common and len(w) >= 4 and not w.isdigit())
        rare = sorted(g for g, n in documents.items() if n == 1 and g[0] not in common and g[-1] not in common)
        self.rare_words = [g[0] for g in rare if len(g) == 1 and len(g[0]) >= 6 and not g[0].isdigit()]
        self.rare_phrases = [" ".join(g) for g in rare if len(g) > 1]

    def phrases(self, n: int, rng: random.Random) -> list[str]:
        """Specific terms, as watchlists hold: 80% two- and three-word phrases, 20% rare single words, each
        found in exactly one item of the other half."""
        n_words = n // 5
        return rng.sample(self.rare_phrases, n - n_words) + rng.sample(self.rare_words, n_words)

    def fixed(self, n: int, rng: random.Random, present: set[tuple[str, ...]]) -> list[str]:
        """FIXED_PRESENT terms that occur in the scored items (the same ones at every size: the first draw
        of a fixed seed), then terms that occur in none of them."""
        pool = self.rare_phrases + self.rare_words
        found = [t for t in pool if tuple(t.split()) in present]
        absent = [t for t in pool if tuple(t.split()) not in present]
        return random.Random(0).sample(found, FIXED_PRESENT) + rng.sample(absent, n - FIXED_PRESENT)

    def single_words(self, n: int, rng: random.Random) -> list[str]:
        """Any content word, frequent or not: most words of an item then match some watchlist."""
        return rng.sample(self.words, min(n, len(self.words)))


def synthetic_watchlists(base: Watchlist, terms: list[str], rng: random.Random) -> list[Watchlist]:
    """`base` plus SYNTHETIC_WATCHLISTS watchlists sharing `terms` (five actors each, the rest keywords)."""
    weights = (-1.0, 0.5, 1.0, 1.0, 2.0, 3.0)
    result = [base]
    for i in range(SYNTHETIC_WATCHLISTS):
        chunk = terms[i::SYNTHETIC_WATCHLISTS]
        actors = tuple(Actor(f"a{j}", term) for j, term in enumerate(chunk[:5]))
        keywords = tuple(Keyword(term, rng.choice(weights)) for term in chunk[5:])
        result.append(Watchlist(f"synthetic-{i}", actors, keywords, ((Severity.WATCH, 4.0),)))
    return result


def fixed_watchlists(base: Watchlist, vocabulary: Vocabulary, present: set[tuple[str, ...]],
                     size: int) -> list[Watchlist]:
    """The fixed scenario at `size` terms: the same draw wherever it is made (bench_compiled.py measures it too)."""
    rng = random.Random(size)
    terms = vocabulary.fixed(size - term_count([base]), rng, present)
    return synthetic_watchlists(base, terms, rng)


def ngrams(docs: Sequence[Document]) -> set[tuple[str, ...]]:
    """Every one-, two- and three-word sequence of the items (folded)."""
    grams: set[tuple[str, ...]] = set()
    for doc in docs:
        words = WordView(fold(doc.text).text).text.split()
        grams.update((w,) for w in words)
        grams.update(itertools.pairwise(words))
        grams.update(zip(words, words[1:], words[2:], strict=False))
    return grams


def term_count(watchlists: Sequence[Watchlist]) -> int:
    return sum(len(wl.keywords) + sum(1 + len(a.aliases) for a in wl.actors) for wl in watchlists)


def all_terms(watchlists: Sequence[Watchlist]) -> list[str]:
    terms = [kw.term for wl in watchlists for kw in wl.keywords if not kw.regex]
    return terms + [alias for wl in watchlists for a in wl.actors for alias in (a.name, *a.aliases)]


def matches_per_item(scorer: Scorer, docs: Sequence[Document]) -> float:
    """Watchlists with at least one match, per item: the ones that get explained."""
    total = 0
    for doc in docs:
        total += sum(len(s.contributions) > 0 for s in scorer.score(doc))
    return total / len(docs)


def items_per_second(scorer: Scorer, docs: Sequence[Document], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for doc in docs:
            scorer.score(doc)
        best = min(best, time.process_time() - start)
    return len(docs) / best


def naive_items_per_second(terms: Sequence[str], docs: Sequence[Document]) -> float:
    """One compiled, case-insensitive, whole-word regex search per term and item (matching only)."""
    patterns = [re.compile(r"(?<!\w)" + re.escape(t.rstrip("*")) + (r"\w*" if t.endswith("*") else r"(?!\w)"),
                           re.IGNORECASE) for t in terms]
    start = time.process_time()
    for doc in docs:
        text = doc.text
        for pattern in patterns:
            pattern.search(text)
    return len(docs) / (time.process_time() - start)


def compile_cost(watchlists: Sequence[Watchlist]) -> tuple[float, float]:
    """(CPU seconds, peak MB) to compile the scorer for these watchlists; memory in a second, traced build
    (tracemalloc slows allocation down several times)."""
    Scorer([])  # build the folding tables first: they are shared, not part of any one matcher
    start = time.process_time()
    Scorer(watchlists)
    seconds = time.process_time() - start
    tracemalloc.start()
    scorer = Scorer(watchlists)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    del scorer
    return seconds, peak / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "news")
    parser.add_argument("--quick", action="store_true", help="one run each, smaller naive samples")
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    repeat = 1 if args.quick else 3
    fold("warm up")
    docs = load_items(args.corpus)
    source, items = docs[0::2], docs[1::2]
    vocabulary = Vocabulary(source)
    chars = sum(len(d.text) for d in items) / len(items)
    print(f"items: {len(items)} news items scored (mean {chars:.0f} characters); terms drawn from "
          f"{len(source)} others")
    print("scoring modules: " + ("compiled with mypyc" if compiled() else
                                 "interpreted (bench_compiled.py measures the compiled build against them)"))
    base = load_watchlist_file(ROOT / "config" / "watchlists" / "russia-nato.yaml", ROOT / "config" / "lexicons")
    print(f"shipped watchlist alone ({term_count([base])} terms): "
          f"{items_per_second(Scorer([base]), items, repeat):,.0f} items/s\n")
    print(f"{'scenario':>8} {'terms':>7} {'scored/item':>11} {'items/s':>9} {'naive/s':>8} {'naive n':>7} "
          f"{'x naive':>8} {'compile s':>9} {'peak MB':>8}")
    primary: dict[int, tuple[float, float]] = {}
    present = ngrams(items)
    for size in SIZES:
        naive: float | None = None
        for scenario in SCENARIOS:
            if scenario == "fixed":
                watchlists = fixed_watchlists(base, vocabulary, present, size)
            else:
                rng = random.Random(size)
                wanted = size - term_count([base])
                terms = (vocabulary.phrases(wanted, rng) if scenario == "phrases"
                         else vocabulary.single_words(wanted, rng))
                watchlists = synthetic_watchlists(base, terms, rng)
            seconds, peak = compile_cost(watchlists)
            scorer = Scorer(watchlists)
            ours = items_per_second(scorer, items, repeat)
            sample = random.Random(size).sample(items, NAIVE_SAMPLE[size] // (3 if args.quick else 1))
            if naive is None:  # the naive cost depends on the number of terms, not on which terms
                naive = naive_items_per_second(all_terms(watchlists), sample)
            if scenario == "fixed":
                primary[size] = (ours, naive)
            print(f"{scenario:>8} {term_count(watchlists):>7,} {matches_per_item(scorer, items):>11.2f} "
                  f"{ours:>9,.0f} {naive:>8,.1f} {len(sample):>7} {ours / naive:>8,.0f} {seconds:>9.2f} "
                  f"{peak:>8.1f}")
    slowdown = primary[SIZES[0]][0] / primary[50_000][0]
    print("\nscored/item: watchlists with at least one match per item (each is explained in full).")
    print(f"fixed, 50,000 vs {SIZES[0]:,} terms: {slowdown:.2f}x slower (target <= 1.5)")
    print(f"fixed, 10,000 terms: {primary[10_000][0]:,.0f} items/s (target >= 20,000), "
          f"{primary[10_000][0] / primary[10_000][1]:,.0f}x naive (target >= 50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
