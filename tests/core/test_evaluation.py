"""The measures behind `monitor evaluate`: AUC against a brute-force count, shares and the confusion table."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from monitor.core.evaluation import Scored, auc, evaluate
from monitor.domain import Severity


def _pairwise(positives: list[float], negatives: list[float]) -> float:
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


values = st.lists(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.5, 8.0, 12.0]), min_size=1, max_size=30)


@given(values, values)
def test_auc_is_the_share_of_pairs_a_positive_wins(positives: list[float], negatives: list[float]) -> None:
    area = auc(positives, negatives)
    assert area is not None
    assert abs(area - _pairwise(positives, negatives)) < 1e-9


@given(values, values)
def test_auc_depends_only_on_the_order_of_scores(positives: list[float], negatives: list[float]) -> None:
    area = auc(positives, negatives)
    assert area == auc([v * 3 + 1 for v in positives], [v * 3 + 1 for v in negatives])


def test_auc_bounds_and_missing_classes() -> None:
    assert auc([2.0, 3.0], [0.0, 1.0]) == 1.0
    assert auc([0.0], [5.0]) == 0.0
    assert auc([1.0], [1.0]) == 0.5
    assert auc([], [1.0]) is None


def test_report_counts_each_label_at_each_severity() -> None:
    items = [Scored("a", 2, 9.0, Severity.WARNING), Scored("b", 2, 1.0, Severity.NONE),
             Scored("c", 0, 5.0, Severity.WATCH), Scored("d", 0, 0.0, Severity.NONE),
             Scored("e", 1, 13.0, Severity.CRITICAL)]
    report = evaluate(items)
    assert report.counts == (2, 1, 2)
    assert report.auc == 0.75  # 9 beats both negatives, 1 beats one of them
    watch, warning, critical = report.at
    assert (watch.precision, watch.recall) == (0.5, 0.5)  # a and c flagged (e is label 1, left out)
    assert watch.share_by_label == (0.5, 1.0, 0.5)
    assert (warning.precision, warning.recall) == (1.0, 0.5)
    assert critical.recall == 0.0
    assert report.confusion == ((1, 1, 0, 0), (0, 0, 0, 1), (1, 0, 1, 0))
    assert [s.text for s in report.missed] == ["b", "a"]
    assert [s.text for s in report.false_alarms] == ["c", "d"]
