"""What issue 16's guards cost per item, each against the same work without it, in one run.

    .venv/bin/python bench/bench_limits.py [--corpus ../shared/corpus/news]

- the item time limit: scoring the items as a parse worker does with the limit on (a clock read per item, a
  periodic timer per document) against the same with it off, with the shipped watchlist;
- the fold's mixed-script step (core/confusables): `fold` against the same fold without that step, which is
  the code path of the fold before issue 16 (invisible characters are in the character table: no cost unless
  present).

Items: every entry of the news corpus as bench_scoring.load_items reads them. CPU time of this process, best
of five runs, per item.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_scoring import load_items  # noqa: E402

from monitor.config import load_config  # noqa: E402
from monitor.core import normalize  # noqa: E402
from monitor.core.scoring import Scorer  # noqa: E402
from monitor.domain import Item  # noqa: E402
from monitor.feeds import itemlimit  # noqa: E402


def best(fn: Callable[[], object], count: int, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT.parent / "shared" / "corpus" / "news")
    args = parser.parse_args()
    docs = load_items(args.corpus)
    items = [Item(str(n), "f", d.title, "", d.body, datetime.now(UTC)) for n, d in enumerate(docs)]
    scorer = Scorer(load_config(ROOT / "config", env={}).watchlists)
    signal.signal(signal.SIGALRM, itemlimit.on_alarm)  # as a worker process has it

    scored = [(i.uid, i.document, i.language) for i in items]
    bare = best(lambda: itemlimit.score_all(scorer, scored, (), 0.0), len(items))
    guarded = best(lambda: itemlimit.score_all(scorer, scored, (), 2.0), len(items))
    print(f"items: {len(items)}")
    print(f"score, bare:                {bare:8.2f} us/item")
    print(f"score, item time limit on:  {guarded:8.2f} us/item   ratio {guarded / bare:.3f}")

    texts = [d.text for d in docs]
    now = best(lambda: [normalize.fold(t) for t in texts], len(texts))
    plain = best(lambda: [normalize._fold_composed(t) if t.isascii() or normalize.unicodedata.is_normalized("NFC", t)
                          else normalize._fold_decomposed(t) for t in texts], len(texts))
    print(f"fold, without the mixed-script step: {plain:6.2f} us/item")
    print(f"fold, as shipped:                    {now:6.2f} us/item   ratio {now / plain:.3f}")


if __name__ == "__main__":
    main()
