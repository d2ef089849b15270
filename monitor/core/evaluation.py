"""How well scores separate labelled items: AUC, precision and recall at each severity, the confusion table
and the worst misses. Pure; `monitor evaluate` and the scoring tests feed it.

Labels follow tests/data/realnews/RUBRIC.md: 2 a new act or explicit threat of force, 1 pressure short of
force, 0 unrelated. The AUC, precision, recall and F1 compare label 2 against label 0: label 1 sits between
and is left out, as in a binary set of acts against non-acts. The share of each label reaching a severity
shows where label 1 lands.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.domain import Severity

ALERTING = (Severity.WATCH, Severity.WARNING, Severity.CRITICAL)


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


@dataclass(frozen=True, slots=True)
class Report:
    items: int
    counts: tuple[int, int, int]  # items per label
    auc: float | None  # None without both label 2 and label 0 items
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


def evaluate(items: Sequence[Scored], *, worst: int = 10) -> Report:
    by_label = [[s for s in items if s.label == label] for label in (0, 1, 2)]
    counts = (len(by_label[0]), len(by_label[1]), len(by_label[2]))
    area = auc([s.value for s in by_label[2]], [s.value for s in by_label[0]])
    confusion = tuple(tuple(sum(1 for s in group if s.severity is sev) for sev in Severity) for group in by_label)
    return Report(len(items), counts, area, tuple(_at(items, by_label, sev) for sev in ALERTING),
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
