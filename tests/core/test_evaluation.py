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


def _labelled(positives: list[float], negatives: list[float]) -> list[Scored]:
    """Items whose severity follows their value on the 4/8/16 scale of the events watchlist."""
    def severity(v: float) -> Severity:
        return (Severity.CRITICAL if v >= 16 else Severity.WARNING if v >= 8 else Severity.WATCH if v >= 4
                else Severity.NONE)
    return ([Scored(f"p{i}", 2, v, severity(v)) for i, v in enumerate(positives)]
            + [Scored(f"n{i}", 0, v, severity(v)) for i, v in enumerate(negatives)])


@given(values, values)
def test_intervals_are_ordered_bounded_and_the_same_every_time(positives: list[float], negatives: list[float]) -> None:
    items = _labelled(positives, negatives)
    report = evaluate(items, resamples=200)
    assert report.auc_interval is not None
    low, high = report.auc_interval
    assert 0.0 <= low <= high <= 1.0
    for at in report.at:
        assert at.f1_interval is not None
        assert 0.0 <= at.f1_interval[0] <= at.f1_interval[1] <= 1.0
    assert evaluate(items, resamples=200) == report  # a fixed seed: a report does not change between runs


def test_a_perfect_separation_has_no_spread_and_a_mixed_one_narrows_with_more_items() -> None:
    perfect = evaluate(_labelled([9.0, 10.0, 20.0], [0.0, 1.0, 5.0]))
    assert perfect.auc_interval == (1.0, 1.0)
    assert perfect.at[1].f1_interval == (1.0, 1.0)  # warning: every act and no non-act, in every resample
    positives, negatives = [9.0, 3.0, 12.0, 8.5, 1.0, 17.0], [0.0, 8.0, 2.0, 4.5, 0.0, 1.0, 9.5, 0.5]
    small = evaluate(_labelled(positives, negatives))
    large = evaluate(_labelled(positives * 8, negatives * 8))
    assert small.auc is not None and small.auc_interval is not None and large.auc_interval is not None
    assert small.auc_interval[0] < small.auc < small.auc_interval[1]
    width = small.auc_interval[1] - small.auc_interval[0]
    assert large.auc_interval[1] - large.auc_interval[0] < width / 2  # about 1/sqrt(8) of it
    for s, big in zip(small.at, large.at, strict=True):
        assert s.f1_interval is not None and big.f1_interval is not None
        assert s.f1_interval[0] <= s.f1 <= s.f1_interval[1]
        assert big.f1_interval[1] - big.f1_interval[0] <= s.f1_interval[1] - s.f1_interval[0]


def test_no_interval_without_both_classes() -> None:
    report = evaluate(_labelled([9.0, 3.0], []))
    assert report.auc is None and report.auc_interval is None
    assert all(at.f1_interval is None for at in report.at)
