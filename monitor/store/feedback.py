"""Reads of the analysts' verdicts (issue 17) for `monitor evaluate --feedback` and /metrics: plain rows, the
figures are core.feedback's. One row per alert (the latest verdict wins), so nothing here deduplicates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from monitor.core.feedback import Verdict
from monitor.store.desk_tables import FeedbackRow


def verdicts_since(s: Session, since: datetime, watchlists: Sequence[str] | None = None) -> list[Verdict]:
    """Every verdict given since `since` (by when it was given), optionally for some watchlists only."""
    query = select(FeedbackRow.watchlist, FeedbackRow.at, FeedbackRow.verdict, FeedbackRow.reason).where(
        col(FeedbackRow.at) >= since)
    if watchlists is not None:
        query = query.where(col(FeedbackRow.watchlist).in_(list(watchlists)))
    return [Verdict(watchlist, at, verdict, reason) for watchlist, at, verdict, reason in s.exec(query)]


def verdict_counts(s: Session, since: datetime | None = None) -> list[tuple[str, str, str | None, int]]:
    """(watchlist, verdict, reason, count): one grouped read, all time or since `since`, for the gauges."""
    query = select(FeedbackRow.watchlist, FeedbackRow.verdict, FeedbackRow.reason, func.count()).group_by(
        col(FeedbackRow.watchlist), col(FeedbackRow.verdict), col(FeedbackRow.reason))
    if since is not None:
        query = query.where(col(FeedbackRow.at) >= since)
    return [(w, v, r, int(n)) for w, v, r, n in s.exec(query)]
