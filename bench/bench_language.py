"""Language identification (monitor/feeds/language.py): cost per item and accuracy on labelled real items.

    .venv/bin/python bench/bench_language.py

Items: the 1,062 real corpus items of tests/data/realnews (tune.csv and heldout.csv), whose `lang` column was
set by the labelling sessions that read each item in its language (tests/data/realnews/README.md). For each
item, title and summary as the parse workers read them. Reported: per language, how many items eld named
correctly, wrongly, or left undecided (too short or not reliable: the feed's own language is kept then), and
the CPU time per item, best of five runs, against a baseline in the same run: folding the same text
(monitor.core.normalize.fold), the cheapest step every item already pays. Twice: for a feed that declares no
language (eld reads every item) and for feeds that declare the right one (a script check only).
"""

from __future__ import annotations

import csv
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.core.normalize import fold  # noqa: E402
from monitor.feeds.language import detect, item_language  # noqa: E402


def rows() -> list[tuple[str, str]]:
    found = []
    for name in ("tune.csv", "heldout.csv"):
        with (ROOT / "tests" / "data" / "realnews" / name).open(encoding="utf-8") as handle:
            found += [(row["lang"], f"{row['title']}\n{row['summary']}") for row in csv.DictReader(handle)]
    return found


def per_item(texts: list[str], fn: object) -> float:
    assert callable(fn)
    best = float("inf")
    for _ in range(5):
        start = time.process_time()
        for text in texts:
            fn(text)
        best = min(best, time.process_time() - start)
    return best / len(texts) * 1e6


def main() -> None:
    labelled = rows()
    outcome: dict[str, Counter[str]] = defaultdict(Counter)
    for language, text in labelled:
        found = detect(text)
        outcome[language]["undecided" if found is None else "right" if found == language else f"wrong:{found}"] += 1
    print(f"{'lang':5} {'items':>5} {'right':>6} {'wrong':>6} {'undecided':>9}  wrong as")
    for language, counts in sorted(outcome.items(), key=lambda kv: -sum(kv[1].values())):
        wrong = {k.split(":")[1]: v for k, v in counts.items() if k.startswith("wrong:")}
        print(f"{language:5} {sum(counts.values()):5} {counts['right']:6} {sum(wrong.values()):6} "
              f"{counts['undecided']:9}  {wrong or ''}")
    total = Counter[str]()
    for counts in outcome.values():
        total.update(k if k in ("right", "undecided") else "wrong" for k in counts.elements())
    decided = total["right"] + total["wrong"]
    print(f"all   {len(labelled):5} {total['right']:6} {total['wrong']:6} {total['undecided']:9}  "
          f"accuracy where decided {total['right'] / decided:.3f}")
    texts = [text for _, text in labelled]
    detect(texts[0])  # the models load once, outside the timing
    cost, base = per_item(texts, detect), per_item(texts, fold)
    print(f"detect (feed declares no language): {cost:.1f} us/item; fold (baseline): {base:.1f} us/item; "
          f"ratio {cost / base:.1f}")
    declared = {text: language for language, text in labelled}
    checked = per_item(texts, lambda text: item_language(text, "", declared[text]))
    print(f"item_language (feed declares the right language): {checked:.1f} us/item; ratio {checked / base:.1f}")


if __name__ == "__main__":
    main()
