"""The score on real news nobody here wrote: the held-out part of tests/data/realnews against a plain weighted
keyword sum over the same terms, in the same run, and what each costs.

    .venv/bin/python bench/bench_realnews.py [--split heldout|heldout1|heldout2|heldout3|tune|tune1|tune2|tune3]

    [--model]: with the learned second opinion (monitor.yaml scoring.model: true; docs/scoring.md).

Sets (tests/data/realnews/README.md says how they were chosen and labelled):
  events    every item, scored with a watchlist that has no actors and only the shipped lexicons (plus the
            shared knowledge, as every watchlist has by default) and thresholds 4/8/16: does the engine tell
            acts of force from the rest, whatever the actors?
  shipped   the items about Russia, Ukraine or Belarus (topic.csv), scored with the shipped russia-nato
            watchlist as it ships.
  en/ru/de  the events set per language.

Measures: AUC of label 2 against label 0; the share of label 2 and of label 0 reaching `warning`; F1 at
`warning` (label 2 against label 0). The baseline is what a keyword filter does with the same vocabulary:
the sum of the weights of every term found (watchlist terms and actor aliases), with no position, context,
negation, hedge, proximity or sense rules; its severities use the same thresholds.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.commands.evaluate import Labelled, read_labelled  # noqa: E402
from monitor.config import load_config  # noqa: E402
from monitor.core.evaluation import Report, Scored, evaluate  # noqa: E402
from monitor.core.matching import Matcher  # noqa: E402
from monitor.core.normalize import WordView, fold  # noqa: E402
from monitor.domain import Severity, Watchlist  # noqa: E402
from monitor.feeds.acts_model import scorer_for  # noqa: E402

DATA = ROOT / "tests" / "data" / "realnews"
# Each held-out part after the first was drawn and labelled after the one before had been read (README there)
SPLITS = {"heldout": ("heldout.csv", "heldout2.csv", "heldout3.csv"), "heldout1": ("heldout.csv",),
          "heldout2": ("heldout2.csv",), "heldout3": ("heldout3.csv",),
          "tune": ("tune.csv", "tune2.csv", "tune3.csv"), "tune1": ("tune.csv",), "tune2": ("tune2.csv",),
          "tune3": ("tune3.csv",)}


def events_watchlist(shipped: Watchlist) -> Watchlist:
    """The shipped watchlist's terms (its lexicons and the knowledge), no actors, no actor requirement: the
    same watchlist tests/core/test_realnews.py holds to the targets."""
    return replace(shipped, name="events", actors=(), require_actor=False,
                   severities=((Severity.WATCH, 4.0), (Severity.WARNING, 8.0), (Severity.CRITICAL, 16.0)))


class KeywordSum:
    """The baseline: every term found adds its weight (actors theirs); nothing else."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.wl = watchlist
        self.matcher = Matcher([watchlist], ())

    def score(self, row: Labelled) -> tuple[float, int]:
        folded = fold(row.document.text)
        total = 0.0
        actors = False
        for hit in self.matcher.find(folded, WordView(folded.text), [0], row.language):
            if hit.kind == "keyword":
                kw = self.wl.keywords[hit.ref]
                if kw.language is None or row.language is None or kw.language.split("-")[0] == row.language:
                    total += kw.weight
            else:
                actors = True
                total += self.wl.actors[hit.ref].weight
        if self.wl.require_actor and not actors:
            total = 0.0
        return total, int(self.wl.severity_for(total))


def run(rows: Sequence[Labelled], watchlist: Watchlist, model: bool = False) -> tuple[Report, Report, float, float]:
    scorer, baseline = scorer_for([watchlist], model), KeywordSum(watchlist)
    start = time.process_time()
    engine_scored = []
    for row in rows:
        [s] = scorer.score(row.document, language=row.language)
        engine_scored.append(Scored(row.document.title, row.label, s.value, s.severity, row.line))
    engine_s = time.process_time() - start
    start = time.process_time()
    base_scored = []
    for row in rows:
        value, severity = baseline.score(row)
        base_scored.append(Scored(row.document.title, row.label, value, type(engine_scored[0].severity)(severity),
                                  row.line))
    base_s = time.process_time() - start
    return evaluate(engine_scored), evaluate(base_scored), len(rows) / engine_s, len(rows) / base_s


def line(name: str, report: Report) -> str:
    warning = report.at[1]
    auc_low, auc_high = report.auc_interval or (0.0, 0.0)
    f1_low, f1_high = warning.f1_interval or (0.0, 0.0)
    return (f"{name:10} AUC {report.auc or 0:.3f} [{auc_low:.2f}-{auc_high:.2f}]  warning reached by label 2 "
            f"{warning.share_by_label[2]:4.0%}, label 0 {warning.share_by_label[0]:4.0%}  F1 {warning.f1:.2f} "
            f"[{f1_low:.2f}-{f1_high:.2f}]")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--split", choices=tuple(SPLITS), default="heldout",
                        help="heldout: both held-out parts together (as reported); heldout1, heldout2: one part")
    parser.add_argument("--model", action="store_true", help="with the learned second opinion (scoring.model: true)")
    args = parser.parse_args()
    rows, ids = [], []
    for name in SPLITS[args.split]:
        rows += read_labelled(DATA / name)
        ids += [r["id"] for r in csv.DictReader((DATA / name).open(encoding="utf-8"))]
    topic = {r["id"]: r["topic"] == "1" for r in csv.DictReader((DATA / "topic.csv").open(encoding="utf-8"))}
    [shipped] = load_config(ROOT / "config").watchlists
    events = events_watchlist(shipped)
    sets = [("events", rows, events),
            ("shipped", [r for r, i in zip(rows, ids, strict=True) if topic[i]], shipped),
            *((lang, [r for r in rows if r.language == lang], events) for lang in ("en", "ru", "de"))]
    split = f"{args.split} with the learned model" if args.model else args.split
    print(f"{split}: {len(rows)} items ({sum(r.label == 2 for r in rows)} label 2, "
          f"{sum(r.label == 0 for r in rows)} label 0); baseline = plain weighted keyword sum, same terms\n")
    for name, subset, watchlist in sets:
        engine, base, engine_rate, base_rate = run(subset, watchlist, args.model)
        counts = f"n={len(subset)} ({engine.counts[2]} label 2, {engine.counts[0]} label 0)"
        print(f"{name} {counts}")
        print("  " + line("engine", engine))
        print("  " + line("keyword sum", base))
        ratio = (engine.auc or 0) / (base.auc or 1)
        print(f"  AUC engine / keyword sum: {ratio:.2f}x; items/s engine {engine_rate:,.0f}, keyword sum "
              f"{base_rate:,.0f} ({engine_rate / base_rate:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
