"""`monitor stories`: the stories of the last while, with their sources, best score and severity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.commands.inspect import _open, _when
from monitor.commands.table import table
from monitor.config import Config
from monitor.domain import Severity
from monitor.store import story_rows


def stories_table(config: Config, since: float, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    with _open(config) as s:
        rows = story_rows.stories_since(s, now - timedelta(seconds=since))
        severities = story_rows.story_severities(s, [r.id for r in rows])
    rows.sort(key=lambda r: (r.best_score, r.last_seen), reverse=True)
    return table(["story", "first seen", "sources", "best score", "severity", "title"],
                 [(r.id, _when(r.first_seen), len(r.sources), f"{r.best_score:.1f}",
                   Severity(severities.get(r.id, 0)).label, r.title) for r in rows])
