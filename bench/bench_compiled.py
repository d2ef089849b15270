"""The scoring path interpreted against the same code compiled with mypyc (setup.py), in one run, on real news items.

    .venv/bin/python bench/bench_compiled.py [--corpus ../shared/corpus/news] [--rounds 3]

A copy of the tree is built in place with MONITOR_MYPYC=1 in a temporary directory (about 30 s; it needs mypy, which
the dev extra installs). Each round then starts one fresh process per build, the two alternating, each pinned to one
CPU: bench_scoring's items (3,164 news items), its fixed scenario at 10,000 terms (the issue's target) and the shipped
watchlist alone, CPU time of `Scorer.score`, best of five passes. A build's figure is its best round; the ratio is
compiled over interpreted. Both builds must give the same scores: a digest of every Score of every item is compared.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PASSES = 5


def measure(root: Path, corpus: Path) -> dict[str, object]:
    """In a fresh process: the figures of the tree at `root` (its own monitor package, compiled or not)."""
    sys.path[:0] = [str(root), str(root / "bench")]
    import bench_scoring as b

    from monitor.core.scoring import Scorer, compiled

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    docs = b.load_items(corpus)
    source, items = docs[0::2], docs[1::2]
    base = b.load_watchlist_file(root / "config" / "watchlists" / "russia-nato.yaml", root / "config" / "lexicons")
    rng = random.Random(10_000)  # as bench_scoring draws the fixed scenario at 10,000 terms
    terms = b.Vocabulary(source).fixed(10_000 - b.term_count([base]), rng, b.ngrams(items))
    fixed = Scorer(b.synthetic_watchlists(base, terms, rng))
    shipped = Scorer([base])

    digest = hashlib.sha256()
    for doc in items:
        digest.update(repr(fixed.score(doc)).encode())
    return {"compiled": compiled(), "fixed": b.items_per_second(fixed, items, PASSES),
            "shipped": b.items_per_second(shipped, items, PASSES),
            "items": len(items), "terms": b.term_count(fixed.watchlists), "digest": digest.hexdigest()}


def compiled_copy(into: Path) -> Path:
    """The tree's code, configuration and benchmarks, built in place with mypyc."""
    copy = into / "main"
    ignore = shutil.ignore_patterns("__pycache__", "*.so", "build")
    for name in ("monitor", "config", "bench"):
        shutil.copytree(ROOT / name, copy / name, ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, copy / name)
    subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"], cwd=copy, check=True,
                   env={**os.environ, "MONITOR_MYPYC": "1"}, stdout=subprocess.DEVNULL)
    return copy


def run(root: Path, corpus: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, __file__, "--measure", str(root), "--corpus", str(corpus)], check=True,
                         capture_output=True, text=True, cwd=root).stdout
    result: dict[str, object] = json.loads(out.splitlines()[-1])
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
        results: dict[str, list[dict[str, object]]] = {"interpreted": [], "compiled": []}
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
        best = {build: max(float(str(r[scenario])) for r in rs) for build, rs in results.items()}
        print(f"{scenario:>8}: interpreted {best['interpreted']:>8,.0f}  compiled {best['compiled']:>8,.0f} items/s  "
              f"-> {best['compiled'] / best['interpreted']:.2f}x")
    return 0 if len(digests) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
