"""`monitor evaluate --feedback`: what analysts said of the alerts (issue 17), per watchlist and ISO week: useful,
noise, the noise share and the most frequent noise reasons. The labelled-file side of `evaluate` is in
commands/evaluate.py; this is the same question asked of the desk instead of a file."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from monitor.commands.inspect import _open
from monitor.commands.table import table
from monitor.config import Config
from monitor.core.feedback import WeekFigures, weekly, weeks_start
from monitor.store import feedback


def figures(config: Config, weeks: int, watchlist: str | None, now: datetime | None = None) -> list[WeekFigures]:
    since = weeks_start(now or datetime.now(UTC), weeks)
    with _open(config) as s:
        verdicts = feedback.verdicts_since(s, since, [watchlist] if watchlist else None)
    return weekly(verdicts)


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def render(rows: Sequence[WeekFigures], weeks: int) -> str:
    if not rows:
        return f"no feedback in the last {weeks} week(s)"
    return table(["watchlist", "week", "useful", "noise", "noise share", "top noise reasons"],
                 [(r.watchlist, r.week, r.useful, r.noise, _share(r.noise_share),
                   ", ".join(f"{reason} ({n})" for reason, n in r.reasons)) for r in rows], max_width=80)


def to_json(row: WeekFigures) -> dict[str, object]:
    return {"watchlist": row.watchlist, "week": row.week, "useful": row.useful, "noise": row.noise,
            "noise_share": row.noise_share,
            "noise_reasons": [{"reason": reason, "count": n} for reason, n in row.reasons]}
