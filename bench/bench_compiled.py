"""The scoring path interpreted against the same code compiled with mypyc (setup.py), in one run, on real news items.

    .venv/bin/python bench/bench_compiled.py [--corpus ../shared/corpus/news] [--rounds 3]

A copy of the tree with the scoring path compiled is made in a temporary directory by .ci/compiled-copy, as `.ci/run`
makes it: pip builds the wheel with MONITOR_MYPYC=1, as production does (about 35 s). Each round then starts one
fresh process per build, the two alternating, each pinned to one CPU: bench_scoring's items (3,164 news items), its
fixed scenario at 10,000 terms (the issue's target) and the shipped watchlist alone, CPU time of `Scorer.score`, best
of five passes. A build's figure is its best round; the ratio is compiled over interpreted. Both builds must give the
same scores: a digest of every Score of every item is compared.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import itertools
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PASSES = 5
# A hostile item: watched actors, acts and cues only, at the most a polled item can be by default (title 1,000 +
# summary 4,000 characters + a 50 KB article) and at 1 MB.
HOSTILE_WORDS = ("Russia", "attack", "NATO", "missile", "strike", "not", "could", "Putin", "warns", "war", "border",
                 "troops", "shelled", "Kyiv", "the", "of", "said")
HOSTILE_SIZES = {"55 KB": 55_000, "1 MB": 1_000_000}


def longest_unchecked(score: Callable[[], object]) -> float:
    """Seconds: the longest stretch of `score()` in which no Python-level signal handler ran, though a 1 ms timer asked
    for one. The item time limit is such a handler (monitor.feeds.itemlimit): compiled code runs pending handlers only
    where it calls back into interpreted code, so this is how late that limit can notice an item."""
    stamps: list[float] = []
    previous = signal.signal(signal.SIGALRM, lambda *_: stamps.append(time.monotonic()))
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    try:
        start = time.monotonic()
        score()
        end = time.monotonic()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return max(b - a for a, b in itertools.pairwise([start, *stamps, end]))


def measure(root: Path, corpus: Path) -> dict[str, Any]:
    """In a fresh process: the figures of the tree at `root` (its own monitor package, compiled or not)."""
    sys.path[:0] = [str(root), str(root / "bench")]
    import bench_scoring as b

    from monitor.config import load_watchlist_file
    from monitor.core.scoring import Scorer, compiled
    from monitor.domain import Document

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    docs = b.load_items(corpus)
    source, items = docs[0::2], docs[1::2]
    base = load_watchlist_file(root / "config" / "watchlists" / "russia-nato.yaml", root / "config" / "lexicons")
    fixed = Scorer(b.fixed_watchlists(base, b.Vocabulary(source), b.ngrams(items), 10_000))
    shipped = Scorer([base])

    unchecked = {}
    rng = random.Random(16)
    for label, size in HOSTILE_SIZES.items():
        body = " ".join(rng.choice(HOSTILE_WORDS) for _ in range(size // 5))[:size]
        hostile = Document("Russia attacks", body)
        unchecked[label] = max(longest_unchecked(functools.partial(shipped.score, hostile)) for _ in range(3))
    digest = hashlib.sha256()
    for doc in items:
        digest.update(repr(fixed.score(doc)).encode())
    return {"compiled": compiled(), "fixed": b.items_per_second(fixed, items, PASSES),
            "shipped": b.items_per_second(shipped, items, PASSES),
            "unchecked": unchecked, "items": len(items), "terms": b.term_count(fixed.watchlists),
            "digest": digest.hexdigest()}


def compiled_copy(into: Path) -> Path:
    """The tree with the wheel production builds unpacked beside its sources: the script `.ci/run` tests it with."""
    subprocess.run([str(ROOT / ".ci" / "compiled-copy"), str(into)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, "PYTHON": sys.executable})
    return into / "main"


def run(root: Path, corpus: Path) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--measure", str(root), "--corpus", str(corpus)], check=True,
                         capture_output=True, text=True, cwd=root).stdout
    result: dict[str, Any] = json.loads(out.splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "news")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process's mode
    args = parser.parse_args()
    corpus = args.corpus.resolve()
    if args.measure:
        print(json.dumps(measure(args.measure, corpus)))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-compiled-") as tmp:
        start = time.monotonic()
        copy = compiled_copy(Path(tmp))
        print(f"compiled copy built in {time.monotonic() - start:.0f} s")
        results: dict[str, list[dict[str, Any]]] = {"interpreted": [], "compiled": []}
        for k in range(args.rounds):
            for build, root in (("interpreted", ROOT), ("compiled", copy)):
                result = run(root, corpus)
                if result["compiled"] != (build == "compiled"):
                    raise SystemExit(f"the {build} run imported the wrong build: {result}")
                results[build].append(result)
                print(f"round {k + 1} {build:>11}: fixed 10,000 terms {result['fixed']:>8,.0f} items/s, "
                      f"shipped watchlist alone {result['shipped']:>8,.0f} items/s")
    first = results["interpreted"][0]
    digests = {str(r["digest"]) for rs in results.values() for r in rs}
    print(f"\n{first['items']} items, {first['terms']:,} terms; identical scores in every run: {len(digests) == 1}")
    for scenario in ("fixed", "shipped"):
        best = {build: max(float(r[scenario]) for r in rs) for build, rs in results.items()}
        print(f"{scenario:>8}: interpreted {best['interpreted']:>8,.0f}  compiled {best['compiled']:>8,.0f} items/s  "
              f"-> {best['compiled'] / best['interpreted']:.2f}x")
    for label in HOSTILE_SIZES:
        worst = {build: max(float(r["unchecked"][label]) for r in rs)
                 for build, rs in results.items()}
        print(f"hostile item of {label}: longest stretch without a signal check (how late the item time limit can "
              f"notice it): interpreted {worst['interpreted'] * 1000:.0f} ms, "
              f"compiled {worst['compiled'] * 1000:.0f} ms")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
