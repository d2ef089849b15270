"""`monitor alerts list`: a read-only view of the database (`monitor feeds` lives in commands/feeds.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Session

from monitor.commands.table import table
from monitor.config import Config
from monitor.domain import Severity
from monitor.store import cluster, repo
from monitor.store.db import make_engine, session
from monitor.store.migrate import ensure_schema
from monitor.store.tables import AlertRow


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "-"


def _open(config: Config) -> Session:
    engine = make_engine(config.database_url)
    ensure_schema(engine)
    return session(engine)


def _status(alert: AlertRow) -> str:
    """A held alert says by what: `held (silence:3)`, `held (snoozed)`."""
    return f"{alert.status} ({alert.held_by})" if alert.held_by else alert.status


def alerts_table(config: Config, status: str | None, limit: int) -> str:
    with _open(config) as s:
        alerts = repo.list_alerts(s, status, limit)
        deliveries = repo.deliveries_for(s, [a.id for a in alerts if a.id is not None])
    per_alert: dict[int, list[str]] = {}
    errors = []
    for d in deliveries:
        note = f" (held: {d.held})" if d.held and d.status == "pending" else ""
        note += f" ({d.attempts} attempts)" if d.attempts > 1 else ""
        per_alert.setdefault(d.alert_id, []).append(f"{d.channel}={d.status}{note}")
        if d.status != "delivered" and d.last_error:
            errors.append(f"alert {d.alert_id} -> {d.channel} (attempt {d.attempts}): {d.last_error}")
    rows = [
        (a.id, _when(a.created_at), a.watchlist, Severity(a.severity).label, f"{a.score:.1f}", _status(a),
         str(a.message.get("title", "")), "; ".join(per_alert.get(a.id or 0, [])))
        for a in alerts
    ]
    out = table(["id", "created", "watchlist", "severity", "score", "status", "title", "deliveries"], rows)
    return "\n".join([out, *(["", "Delivery errors:"] if errors else []), *errors])


def workers_table(config: Config) -> str:
    now = datetime.now(UTC)
    with _open(config) as s:
        rows = [(w.id, w.host, w.pid, _when(w.started_at), f"{(now - w.heartbeat_at).total_seconds():.0f}s ago",
                 "alive" if (now - w.heartbeat_at).total_seconds() < 60 else "silent", leases)
                for w, leases in cluster.workers(s, now)]
    return table(["worker", "host", "pid", "started", "heartbeat", "state", "feed leases"], rows)
