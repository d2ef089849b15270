"""Read-only views of the database for the page and the JSON API: plain dicts, secrets redacted."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlmodel import col, select

from alerts.redact import redact
from monitor.core.health import feed_state
from monitor.domain import Severity
from monitor.store import repo
from monitor.store.db import session
from monitor.store.tables import FeedRow, ItemRow, ScoreRow

ALERT_STATUSES = ("pending", "delivered", "failed")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def feeds(engine: Engine) -> list[dict[str, Any]]:
    with session(engine) as s:
        counts = repo.item_counts(s)
        rows = repo.all_feeds(s)
    return [{
        "name": f.name, "url": redact(f.url),
        "state": feed_state(f.enabled, f.status, f.health, f.consecutive_failures),
        "tags": list(f.tags), "interval": f.interval, "items": counts.get(f.id or 0, 0),
        "last_polled_at": _iso(f.last_polled_at), "last_success_at": _iso(f.last_success_at),
        "last_new_item_at": _iso(f.last_new_item_at), "next_poll_at": _iso(f.next_poll_at),
        "consecutive_failures": f.consecutive_failures, "last_error_kind": f.last_error_kind,
        "last_error": redact(f.last_error) if f.last_error else None,
    } for f in rows]


def alerts(engine: Engine, *, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Recent alerts with their explanation (what contributed) and their delivery per channel."""
    with session(engine) as s:
        rows = repo.list_alerts(s, status, limit)
        deliveries = repo.deliveries_for(s, [a.id for a in rows if a.id is not None])
    per_alert: dict[int, list[dict[str, Any]]] = {}
    for d in sorted(deliveries, key=lambda d: d.channel):
        per_alert.setdefault(d.alert_id, []).append({
            "channel": d.channel, "status": d.status, "attempts": d.attempts,
            "last_error": redact(d.last_error) if d.last_error else None, "delivered_at": _iso(d.delivered_at),
        })
    out = []
    for a in rows:
        message = a.message
        out.append({
            "id": a.id, "created_at": _iso(a.created_at), "watchlist": a.watchlist,
            "severity": Severity(a.severity).label, "score": a.score, "status": a.status,
            "title": message.get("title", ""), "link": message.get("link", ""), "feed": message.get("feed", ""),
            "published": message.get("published"), "actors": message.get("actors", []),
            "terms": message.get("terms", []), "contributions": message.get("contributions", []),
            "deliveries": per_alert.get(a.id or 0, []),
        })
    return out


def top_items(engine: Engine, now: datetime, *, hours: float = 24, limit: int = 10) -> list[dict[str, Any]]:
    """The best-scored items fetched in the last `hours`: what will become "top stories" once items are
    clustered into stories. One row per item, with the watchlist that scored it highest."""
    since = now - timedelta(hours=hours)
    query = (
        select(ScoreRow, ItemRow, FeedRow.name)
        .join(ItemRow, col(ItemRow.id) == col(ScoreRow.item_id))
        .join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
        .where(col(ItemRow.fetched_at) >= since, col(ScoreRow.value) > 0)
        .order_by(col(ScoreRow.value).desc(), col(ItemRow.id).desc())
        .limit(limit * 4)
    )
    with session(engine) as s:
        rows = s.exec(query).all()
    best: dict[int, dict[str, Any]] = {}
    for score, item, feed_name in rows:
        if item.id in best:
            continue
        best[item.id or 0] = {
            "item": item.id, "title": item.title, "link": item.link, "feed": feed_name,
            "published": _iso(item.published), "fetched_at": _iso(item.fetched_at), "watchlist": score.watchlist,
            "score": score.value, "severity": Severity(score.severity).label,
            "contributions": sorted(score.contributions, key=lambda c: -abs(float(c.get("value", 0))))[:5],
        }
    return list(best.values())[:limit]
