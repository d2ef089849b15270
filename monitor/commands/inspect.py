"""`monitor alerts list`: a read-only view of the database (`monitor feeds` lives in commands/feeds.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from monitor.commands.table import table
from monitor.config import Config
from monitor.domain import Severity
from monitor.store import repo
from monitor.store.db import create_schema, make_engine, session


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _open(config: Config) -> Session:
    engine = make_engine(config.database_url)
    create_schema(engine)
    return session(engine)


def alerts_table(config: Config, status: str | None, limit: int) -> str:
    with _open(config) as s:
        alerts = repo.list_alerts(s, status, limit)
        deliveries = repo.deliveries_for(s, [a.id for a in alerts if a.id is not None])
    per_alert: dict[int, list[str]] = {}
    errors = []
    for d in deliveries:
        per_alert.setdefault(d.alert_id, []).append(f"{d.channel}={d.status}")
        if d.status != "delivered" and d.last_error:
            errors.append(f"alert {d.alert_id} -> {d.channel} (attempt {d.attempts}): {d.last_error}")
    rows = [
        (a.id, _when(a.created_at), a.watchlist, Severity(a.severity).label, f"{a.score:.1f}", a.status,
         str(a.message.get("title", "")), "; ".join(per_alert.get(a.id or 0, [])))
        for a in alerts
    ]
    out = table(["id", "created", "watchlist", "severity", "score", "status", "title", "deliveries"], rows)
    return "\n".join([out, *(["", "Delivery errors:"] if errors else []), *errors])
