"""Feedback figures (issue 17): what analysts said of the alerts, per watchlist and ISO week. Pure: verdicts in,
figures out; `monitor evaluate --feedback`, the page and /metrics all count the same way."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True, slots=True)
class Verdict:
    watchlist: str
    at: datetime
    verdict: str  # useful, noise (core.triage.VERDICTS)
    reason: str | None = None  # for noise: core.triage.NOISE_REASONS


@dataclass(frozen=True, slots=True)
class WeekFigures:
    watchlist: str
    week: str  # ISO week, "2026-W10"
    useful: int
    noise: int
    reasons: tuple[tuple[str, int], ...]  # the most frequent noise reasons, most frequent first

    @property
    def noise_share(self) -> float | None:
        total = self.useful + self.noise
        return self.noise / total if total else None


def iso_week(at: datetime) -> str:
    """Weeks are counted in UTC, so two workers in different time zones file a verdict in the same week."""
    year, week, _ = at.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


def weeks_start(now: datetime, weeks: int) -> datetime:
    """Monday 00:00 UTC of the week `weeks - 1` weeks before now's: the last `weeks` weeks, this one included."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=today.weekday(), weeks=max(1, weeks) - 1)


def weekly(verdicts: Iterable[Verdict], *, top: int = 3) -> list[WeekFigures]:
    """Figures per (watchlist, week) that had any verdict, ordered by watchlist then week."""
    counts: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    reasons: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for v in verdicts:
        key = (v.watchlist, iso_week(v.at))
        counts[key][v.verdict] += 1
        if v.verdict == "noise":
            reasons[key][v.reason or "unspecified"] += 1
    return [WeekFigures(watchlist, week, counts[(watchlist, week)]["useful"], counts[(watchlist, week)]["noise"],
                        tuple(_top(reasons[(watchlist, week)], top)))
            for watchlist, week in sorted(counts)]


def _top(counter: Counter[str], n: int) -> list[tuple[str, int]]:
    # Ties by name, so the same verdicts always print the same way.
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
