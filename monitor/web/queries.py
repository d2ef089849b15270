"""Feed views for the console and the JSON API: plain dicts, secrets redacted (stories and alerts: `web.desk`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from alerts.redact import redact
from monitor.core.health import feed_state
from monitor.store import repo
from monitor.store.db import session

ALERT_STATUSES = ("pending", "delivered", "failed", "held")


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
