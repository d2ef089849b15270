"""Stories across languages (issue 18): the entity matcher (monitor.core.crosslang) on hand-labelled pairs.

tests/data/crosslang_pairs.yaml holds the pairs with their text, so no corpus is needed here. Targets: precision
>= 0.95 and recall >= 0.8 on the held-out split. The matcher does not reach them yet (measured: held-out
precision 0.79, recall 0.68; tuning 1.00 / 0.56), so it is not wired into StoryIndex and the gate below is a
strict xfail: it turns into a failure, to be made a plain assertion, the day the targets are met.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
import yaml

from monitor.core.crosslang import Evidence, Resolver, same_event

DATA = Path(__file__).parents[1] / "data" / "crosslang_pairs.yaml"
PRECISION, RECALL = 0.95, 0.8


def _pairs() -> list[dict[str, object]]:
    pairs: list[dict[str, object]] = yaml.safe_load(DATA.read_text(encoding="utf-8"))["pairs"]
    return pairs


def _side(resolver: Resolver, side: object) -> tuple[Evidence, datetime]:
    assert isinstance(side, dict)
    return resolver.resolve(side["title"], side.get("summary", "")), datetime.fromisoformat(side["published"])


def _measure(split: str) -> tuple[float, float]:
    resolver = Resolver()
    tp = fp = fn = 0
    for pair in _pairs():
        if pair["split"] != split:
            continue
        (a, at_a), (b, at_b) = _side(resolver, pair["a"]), _side(resolver, pair["b"])
        merged, same = same_event(a, b, at_a, at_b), pair["label"] == 1
        tp, fp, fn = tp + (merged and same), fp + (merged and not same), fn + (same and not merged)
    precision, recall = (tp / (tp + fp) if tp + fp else 1.0), tp / (tp + fn)
    print(f"\ncross-language {split}: precision {precision:.2f} recall {recall:.2f} (tp {tp}, fp {fp}, fn {fn})")
    return precision, recall


def test_the_labelled_pairs_are_cross_language_and_split_once_by_event() -> None:
    pairs = _pairs()
    assert all(p["a"]["lang"] != p["b"]["lang"] for p in pairs)  # type: ignore[index]
    assert {p["label"] for p in pairs} == {0, 1}
    events: dict[object, object] = {}
    for p in pairs:
        assert events.setdefault(p["event"], p["split"]) == p["split"], "an event straddles the split"
    assert sum(p["label"] == 1 for p in pairs) >= 40 and sum(p["label"] == 0 for p in pairs) >= 35


def test_names_in_either_script_resolve_to_one_id() -> None:
    resolver = Resolver({"lavrov": ["Lavrov", "Лавров*"]})
    ru = resolver.resolve("США ввели санкции против «Роснефти» и «Лукойла»; Лавров ответил")
    en = resolver.resolve("US sanctions Rosneft and Lukoil; Lavrov responds")
    assert {"rosneft", "lukoil", "lavrov", "usa", "sanctions"} <= ru.entities & en.entities


def test_numbers_and_time_tell_reports_apart() -> None:
    resolver = Resolver()
    t0 = datetime(2025, 10, 23)
    a = resolver.resolve("Роснефть и Лукойл: 12 танкеров")
    b = resolver.resolve("Rosneft and Lukoil: 40 tankers")
    assert not same_event(a, b, t0, t0)
    assert same_event(a, resolver.resolve("Rosneft and Lukoil: 12 tankers"), t0, t0)
    assert not same_event(a, resolver.resolve("Rosneft and Lukoil: 12 tankers"), t0, datetime(2025, 11, 23))


@pytest.mark.xfail(strict=True, reason="entity matcher below target: held-out P 0.79 R 0.68 (not wired in)")
def test_held_out_cross_language_precision_and_recall_reach_the_targets() -> None:
    _measure("tuning")
    precision, recall = _measure("heldout")
    assert precision >= PRECISION and recall >= RECALL
