"""`monitor alerts show ID` and `monitor alerts retry ID|--failed`: the outbox for operators."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.commands.inspect import _open, _status, _when
from monitor.commands.table import table
from monitor.config import Config
from monitor.domain import Severity
from monitor.runtime import cycle
from monitor.store import outbox, repo
from monitor.store.tables import AlertRow
from monitor.usecases import deliver


def retry(config: Config, alert_id: int | None) -> int | None:
    """Failed deliveries back to pending with a fresh attempt budget; returns how many, or None when there
    is no alert `alert_id`."""
    with _open(config) as s:
        if alert_id is not None and s.get(AlertRow, alert_id) is None:
            return None
        count = outbox.retry(s, alert_id=alert_id, now=datetime.now(UTC))
        s.commit()
    return count


def show(config: Config, alert_id: int) -> str | None:
    """The alert, its deliveries per channel, and every attempt; None if there is no such alert."""
    with _open(config) as s:
        alert = s.get(AlertRow, alert_id)
        if alert is None:
            return None
        deliveries = repo.deliveries_for(s, [alert_id])
        attempts = outbox.attempts_for(s, alert_id)
    head = (f"alert {alert.id}: {Severity(alert.severity).label} on {alert.watchlist} (score {alert.score:.1f}), "
            f"{_status(alert)}\n  {alert.message.get('title', '')}\n  {alert.message.get('link', '')}")
    rows = [(d.channel, d.status, d.attempts, d.held or "", d.via or "", _when(d.next_attempt_at),
             _when(d.delivered_at), d.last_error or "") for d in deliveries]
    out = [head, "", table(["channel", "status", "attempts", "held", "via", "next attempt", "delivered", "error"],
                           rows, max_width=400)]
    if alert.held_by and not deliveries:
        out[1:] = ["", f"  not sent: held by {alert.held_by} (recorded, no deliveries)"]
    if attempts:
        out += ["", table(["time", "channel", "message", "outcome", "error"],
                          [(_when(a.started_at), a.channel, a.send_id, a.outcome, a.error or "") for a in attempts],
                          max_width=400)]
    return "\n".join(out)


async def deliver_now(config: Config) -> deliver.DeliveryStats:
    """One delivery pass in this process (what `alerts retry --send` does instead of waiting for the daemon)."""
    rt = cycle.open_runtime(config)
    try:
        return await deliver.deliver_pending(rt)
    finally:
        await rt.fetcher.aclose()
        rt.engine.dispose()
