"""How well scores separate labelled items: AUC, precision and recall at each severity, the confusion table
and the worst misses. Pure; `monitor evaluate` and the scoring tests feed it.

Labels follow tests/data/realnews/RUBRIC.md: 2 a new act or explicit threat of force, 1 pressure short of
force, 0 unrelated. The AUC, precision, recall and F1 compare label 2 against label 0: label 1 sits between
and is left out, as in a binary set of acts against non-acts. The share of each label reaching a severity
shows where label 1 lands.

Each AUC and F1 comes with a 95% interval from a stratified bootstrap (the items of each label resampled with
replacement, their counts kept; the percentiles of 1,000 resamples, from a fixed seed, so a report is the same every
time). It says how far a figure could move on another sample of the same size: an analyst's labelled file has a
few dozen acts, and F1 on 30 acts moves by about 0.1 either way by chance alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from monitor.domain import Severity

ALERTING = (Severity.WATCH, Severity.WARNING, Severity.CRITICAL)
RESAMPLES = 1_000
LEVEL = 0.95
Interval = tuple[float, float]


@dataclass(frozen=True, slots=True)
class Scored:
    """One labelled item and what the engine made of it."""

    text: str
    label: int  # 0, 1 or 2
    value: float
    severity: Severity
    line: int = 0  # where it was in the labelled file


@dataclass(frozen=True, slots=True)
class AtSeverity:
    severity: Severity
    precision: float
    recall: float
    f1: float
    share_by_label: tuple[float, float, float]  # of label 0, 1, 2 reaching this severity
    f1_interval: Interval | None = None  # None without both label 2 and label 0 items


@dataclass(frozen=True, slots=True)
class Report:
    items: int
    counts: tuple[int, int, int]  # items per label
    auc: float | None  # None without both label 2 and label 0 items
    auc_interval: Interval | None
    at: tuple[AtSeverity, ...]
    confusion: tuple[tuple[int, int, int, int], ...]  # per label 0..2: items at none, watch, warning, critical
    missed: tuple[Scored, ...]  # label 2 with the lowest scores
    false_alarms: tuple[Scored, ...]  # label 0 with the highest scores


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float | None:
    """The probability that a random positive outscores a random negative, ties counting half (Mann-Whitney)."""
    if not positives or not negatives:
        return None
    ranked = sorted([(v, 1) for v in positives] + [(v, 0) for v in negatives])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + 1 + j) / 2  # ranks i+1..j share their mean
        rank_sum += mid * sum(flag for _, flag in ranked[i:j])
        i = j
    n_pos, n_neg = len(positives), len(negatives)
    return (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)


def evaluate(items: Sequence[Scored], *, worst: int = 10, resamples: int = RESAMPLES) -> Report:
    by_label = [[s for s in items if s.label == label] for label in (0, 1, 2)]
    counts = (len(by_label[0]), len(by_label[1]), len(by_label[2]))
    area = auc([s.value for s in by_label[2]], [s.value for s in by_label[0]])
    confusion = tuple(tuple(sum(1 for s in group if s.severity is sev) for sev in Severity) for group in by_label)
    auc_interval, f1_intervals = _intervals(by_label[2], by_label[0], resamples)
    at = tuple(replace(_at(items, by_label, sev), f1_interval=f1_intervals[i]) for i, sev in enumerate(ALERTING))
    return Report(len(items), counts, area, auc_interval, at,
                  confusion,  # type: ignore[arg-type]  # four severities, by construction
                  tuple(sorted(by_label[2], key=lambda s: s.value)[:worst]),
                  tuple(sorted(by_label[0], key=lambda s: -s.value)[:worst]))


def _at(items: Sequence[Scored], by_label: list[list[Scored]], severity: Severity) -> AtSeverity:
    flagged = [s for s in items if s.severity >= severity and s.label != 1]
    hits = sum(1 for s in flagged if s.label == 2)
    precision = hits / len(flagged) if flagged else 0.0
    recall = hits / len(by_label[2]) if by_label[2] else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    shares = tuple(sum(1 for s in group if s.severity >= severity) / len(group) if group else 0.0
                   for group in by_label)
    return AtSeverity(severity, precision, recall, f1, shares)  # type: ignore[arg-type]


def _intervals(positives: Sequence[Scored], negatives: Sequence[Scored],
               resamples: int) -> tuple[Interval | None, tuple[Interval | None, ...]]:
    """The AUC's and each severity's F1 interval (module docstring), from `resamples` stratified resamples."""
    if not positives or not negatives or resamples < 1:
        return None, (None,) * len(ALERTING)
    rng = np.random.default_rng(0)
    pos = np.array([s.value for s in positives])
    neg = np.array([s.value for s in negatives])
    pick_pos = rng.integers(0, len(pos), size=(resamples, len(pos)))
    pick_neg = rng.integers(0, len(neg), size=(resamples, len(neg)))
    # AUC by counting, per resample, the negatives below (and equal to) each positive in the sorted negatives.
    areas = np.empty(resamples)
    for r in range(resamples):
        sample_neg = np.sort(neg[pick_neg[r]])
        sample_pos = pos[pick_pos[r]]
        below = np.searchsorted(sample_neg, sample_pos, "left")
        ties = np.searchsorted(sample_neg, sample_pos, "right") - below
        areas[r] = (below.sum() + 0.5 * ties.sum()) / (len(pos) * len(neg))
    f1s: list[Interval | None] = []
    for severity in ALERTING:
        flagged_pos = np.array([s.severity >= severity for s in positives])[pick_pos].sum(axis=1)
        flagged_neg = np.array([s.severity >= severity for s in negatives])[pick_neg].sum(axis=1)
        # F1 = 2 TP / (2 TP + FP + FN), with FN = positives - TP; 0 when nothing is flagged and nothing found
        f1 = 2 * flagged_pos / (len(pos) + flagged_pos + flagged_neg)
        f1s.append(_percentiles(f1))
    return _percentiles(areas), tuple(f1s)


def _percentiles(values: np.ndarray) -> Interval:
    low, high = np.percentile(values, [50 * (1 - LEVEL), 50 * (1 + LEVEL)])
    return float(low), float(high)
