"""The score on real news nobody here wrote: the held-out part of tests/data/realnews (README there: where the
items come from, how they were labelled, how they were split). Tuning looked at tune.csv only.

Targets (issue 15) are asserted where the engine meets them; where it does not yet, the test holds the
measured figure as a floor so that it cannot slip, and names the target it is short of."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from monitor.commands.evaluate import Labelled, read_labelled
from monitor.config import load_config
from monitor.core.acts import ActModel
from monitor.core.evaluation import Report, Scored, evaluate
from monitor.core.scoring import Scorer
from monitor.domain import Severity, Watchlist
from monitor.feeds.acts_model import E5Acts
from tests.core.builders import CONFIG

DATA = Path(__file__).resolve().parents[1] / "data" / "realnews"


PARTS = ("heldout.csv", "heldout2.csv", "heldout3.csv")  # each drawn and labelled after the one before was read


def held_out(name: str) -> list[tuple[Labelled, bool]]:
    """(item, about Russia/Ukraine/Belarus) for every item of one held-out part."""
    path = DATA / name
    ids = [row["id"] for row in csv.DictReader(path.open(encoding="utf-8"))]
    topic = {r["id"]: r["topic"] == "1" for r in csv.DictReader((DATA / "topic.csv").open(encoding="utf-8"))}
    return [(row, topic[i]) for row, i in zip(read_labelled(path), ids, strict=True)]


@pytest.fixture(scope="module")
def heldout() -> list[tuple[Labelled, bool]]:
    """Both held-out parts: the figures are reported on them together (README: "Second held-out batch")."""
    return [pair for name in PARTS for pair in held_out(name)]


@pytest.fixture(scope="module")
def shipped() -> Watchlist:
    [watchlist] = load_config(CONFIG).watchlists
    return watchlist


def events_watchlist(shipped: Watchlist) -> Watchlist:
    """No actors, the shipped lexicons and the shared knowledge, the original thresholds (4/8/16)."""
    return replace(shipped, name="events", actors=(), require_actor=False,
                   severities=((Severity.WATCH, 4.0), (Severity.WARNING, 8.0), (Severity.CRITICAL, 16.0)))


def report(watchlist: Watchlist, rows: Sequence[Labelled], capsys: pytest.CaptureFixture[str], name: str,
           model: ActModel | None = None) -> Report:
    scorer = Scorer([watchlist], model=model)
    scored = []
    for row in rows:
        [s] = scorer.score(row.document, language=row.language)
        scored.append(Scored(row.document.title, row.label, s.value, s.severity, row.line))
    result = evaluate(scored)
    warning = result.at[1]
    with capsys.disabled():
        print(f"\n{name}: n={result.items} {result.counts} AUC {result.auc:.3f} {_shown(result.auc_interval)}; warning "
              f"reached by label 2 {warning.share_by_label[2]:.0%}, label 0 {warning.share_by_label[0]:.0%}; F1 "
              f"{warning.f1:.2f} {_shown(warning.f1_interval)} (95% bootstrap intervals)")
    return result


def _shown(interval: tuple[float, float] | None) -> str:
    return "" if interval is None else f"[{interval[0]:.2f}-{interval[1]:.2f}]"


def test_acts_of_force_against_the_rest_whatever_the_actors(heldout: list[tuple[Labelled, bool]],
                                                             shipped: Watchlist,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    for name in PARTS:  # each part shown; the assertions hold the two together
        report(events_watchlist(shipped), [row for row, _ in held_out(name)], capsys, f"{name}, no actors")
    result = report(events_watchlist(shipped), [row for row, _ in heldout], capsys, "held-out, no actors")
    assert result.auc is not None and result.auc >= 0.90  # target met (0.930 on the three parts)
    warning = result.at[1]
    # Targets 70% / 5% and F1 0.75, not met on the three parts (67.7% / 5.7%, F1 0.64; the first part, read while
    # rules were written: 74% / 3%, F1 0.74; the second: 57% / 9%, 0.51; the third, read once: 74% / 5%, 0.71).
    # Floors at the measured figures.
    assert warning.share_by_label[2] >= 0.67 and warning.share_by_label[0] <= 0.06
    assert warning.f1 >= 0.64


def test_the_shipped_watchlist_on_items_about_russia_and_ukraine(heldout: list[tuple[Labelled, bool]],
                                                                 shipped: Watchlist,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    result = report(shipped, [row for row, on_topic in heldout if on_topic], capsys, "held-out, shipped, topic")
    assert result.auc is not None and result.auc >= 0.90  # target met (0.926 on the three parts)
    warning = result.at[1]
    assert warning.share_by_label[2] >= 0.70  # target met (74%)
    assert warning.share_by_label[0] <= 0.055  # target 5%: not met on the three parts (5.4%; first part alone 1%)


def test_the_learned_second_opinion_helps_on_the_held_out_parts(heldout: list[tuple[Labelled, bool]],
                                                                shipped: Watchlist,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """monitor.yaml `scoring.model` (core.acts): its recipe was fixed on the tuning parts before a held-out part was
    read with it (docs/scoring.md, "A learned second opinion")."""
    rows = [row for row, _ in heldout]
    rules = report(events_watchlist(shipped), rows, capsys, "held-out, no actors, rules alone")
    both = report(events_watchlist(shipped), rows, capsys, "held-out, no actors, with the model", model=E5Acts())
    assert rules.auc is not None and both.auc is not None
    assert both.auc > rules.auc and both.auc >= 0.94  # 0.942 against 0.930
    warning, before = both.at[1], rules.at[1]
    assert warning.f1 > before.f1 and warning.f1 >= 0.66  # 0.67 against 0.64; target 0.75 not met
    assert warning.share_by_label[0] < before.share_by_label[0] and warning.share_by_label[0] <= 0.05  # target met
    assert warning.share_by_label[2] >= before.share_by_label[2]  # 69% against 68%; target 70% not met


@pytest.mark.parametrize(("language", "floor"), [("en", 0.90), ("ru", 0.90), ("de", 0.90)])
def test_each_language_separates_acts(heldout: list[tuple[Labelled, bool]], shipped: Watchlist,
                                      capsys: pytest.CaptureFixture[str], language: str, floor: float) -> None:
    rows = [row for row, _ in heldout if row.language == language]
    result = report(events_watchlist(shipped), rows, capsys, f"held-out, no actors, {language}")
    assert result.auc is not None and result.auc >= floor
