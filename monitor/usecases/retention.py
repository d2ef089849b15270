"""Retention: once a day per cluster, prune items, scores, stories, alerts and deliveries older than
`retention` (monitor.yaml). An alert whose delivery is still pending is kept, with its item."""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog
from sqlalchemy import Engine

from monitor.store import cluster, story_rows
from monitor.store.db import session

log = structlog.get_logger("monitor.usecases.retention")
JOB = "retention"


def run_retention(engine: Engine, retention: float, worker: str, now: datetime) -> dict[str, int] | None:
    """Prune once per UTC day; None if another run (this worker's or another's) had this day already."""
    with session(engine) as s:
        if not cluster.claim_run(s, JOB, now.strftime("%Y-%m-%d"), worker, now):
            s.commit()
            return None
        counts = story_rows.prune(s, now - timedelta(seconds=retention))
        s.commit()
    if any(counts.values()):
        log.info("retention_pruned", before=(now - timedelta(seconds=retention)).isoformat(), **counts)
    return counts
