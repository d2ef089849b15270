"""Stories across languages (issue 18): the entity matcher (monitor.core.crosslang) on hand-labelled pairs, and
the pure decision on embedding vectors (synthetic vectors here; the model's own are tried by
bench/bench_crosslang.py).

tests/data/crosslang_pairs.yaml holds the pairs with their text, so no corpus is needed here. Targets: precision
>= 0.95 and recall >= 0.8 on the held-out split. The matcher does not reach them (measured on the 128 pairs:
held-out precision 0.75, recall 0.45; tuning 0.92 / 0.35; the 75 first pairs alone, labelled before its table
was written, 0.79 / 0.68), and neither does the embedding (bench/bench_crosslang.py), so nothing is wired into
StoryIndex and the gate below is a strict xfail: it turns into a failure, to be made a plain assertion, the day
the targets are met.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import yaml

from monitor.core.crosslang import (
    SIMILARITY,
    WINDOW,
    Evidence,
    LanguageMeans,
    Resolver,
    by_embedding,
    cosine,
    not_ruled_out,
    same_event,
    shares_entity,
)

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
    assert sum(p["label"] == 1 for p in pairs) >= 60 and sum(p["label"] == 0 for p in pairs) >= 60
    for split in ("tuning", "heldout"):
        assert {p["label"] for p in pairs if p["split"] == split} == {0, 1}


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


@pytest.mark.xfail(strict=True, reason="entity matcher below target: held-out P 0.75 R 0.45 (not wired in)")
def test_held_out_cross_language_precision_and_recall_reach_the_targets() -> None:
    _measure("tuning")
    precision, recall = _measure("heldout")
    assert precision >= PRECISION and recall >= RECALL


T0 = datetime(2026, 2, 27)
RUSSIA_UKRAINE = Evidence(frozenset({"russia", "ukraine"}), frozenset())
POLAND_DRONES = Evidence(frozenset({"poland", "drones"}), frozenset())
NOTHING_KNOWN = Evidence(frozenset(), frozenset())


def _unit(*values: float) -> np.typing.NDArray[np.float32]:
    vector = np.array(values, dtype=np.float32)
    return vector / np.linalg.norm(vector)


def test_the_gates_differ_only_where_the_entity_table_says_something() -> None:
    later = T0 + WINDOW
    assert shares_entity(RUSSIA_UKRAINE, RUSSIA_UKRAINE, T0, later)
    assert not shares_entity(RUSSIA_UKRAINE, RUSSIA_UKRAINE, T0, later + WINDOW / 100)
    assert not shares_entity(RUSSIA_UKRAINE, NOTHING_KNOWN, T0, T0)  # a Hebrew headline resolves to nothing
    assert not_ruled_out(RUSSIA_UKRAINE, NOTHING_KNOWN, T0, T0)
    assert not not_ruled_out(RUSSIA_UKRAINE, POLAND_DRONES, T0, T0)  # both name actors, none in common
    assert not not_ruled_out(NOTHING_KNOWN, NOTHING_KNOWN, T0, later + WINDOW)


def test_the_embedding_decides_at_the_gates_threshold() -> None:
    same, other = _unit(1, 0, 0), _unit(0, 1, 0)
    close = _unit(1, 1.2, 0)  # cosine 0.64 with `same`
    assert cosine(same, close) == pytest.approx(0.64, abs=0.01)
    assert by_embedding(NOTHING_KNOWN, NOTHING_KNOWN, T0, T0, same, close, gate="none")
    assert not by_embedding(NOTHING_KNOWN, NOTHING_KNOWN, T0, T0, same, other, gate="none")
    assert not by_embedding(NOTHING_KNOWN, NOTHING_KNOWN, T0, T0, same, close, gate="none", threshold=0.7)
    assert not by_embedding(NOTHING_KNOWN, NOTHING_KNOWN, T0, T0, same, close, gate="shared")
    assert by_embedding(RUSSIA_UKRAINE, NOTHING_KNOWN, T0, T0, same, close, gate="not_ruled_out")
    assert not by_embedding(RUSSIA_UKRAINE, POLAND_DRONES, T0, T0, same, close, gate="not_ruled_out")
    assert not by_embedding(NOTHING_KNOWN, NOTHING_KNOWN, T0, T0 + 2 * WINDOW, same, close, gate="none")
    assert not by_embedding(NOTHING_KNOWN, NOTHING_KNOWN, T0, T0, same, None, gate="none")  # no mean yet
    assert all(0 < threshold < 1 for threshold in SIMILARITY.values())


def test_language_means_take_out_what_every_item_of_a_language_shares() -> None:
    means = LanguageMeans(min_items=3)
    accent = np.array([0.0, 0.0, 5.0], dtype=np.float32)  # what all "ru" vectors share
    for vector in (_unit(1, 0, 0), _unit(0, 1, 0), _unit(-1, -1, 0)):
        assert means.centred("ru", vector + accent) is None  # not enough items yet
        means.add("ru", vector + accent)
    assert means.count("ru") == 3 and means.count("en") == 0
    a, b = means.centred("ru", _unit(1, 0, 0) + accent), means.centred("ru", _unit(0, 1, 0) + accent)
    assert a is not None and b is not None
    assert cosine(_unit(1, 0, 0) + accent, _unit(0, 1, 0) + accent) > 0.9  # raw: alike because both are "ru"
    assert cosine(a, b) < 0.2 and float(np.linalg.norm(a)) == pytest.approx(1.0)
    assert means.centred("en", _unit(1, 0, 0)) is None
