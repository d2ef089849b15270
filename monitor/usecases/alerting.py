"""The one way an alert is written: an alert row and one pending delivery per channel, in the caller's
transaction, unless its dedup key has alerted already or the re-alert window holds it back.

Story alerts and trend alerts both come through here, so the re-alert window (`delivery.realert`) and the
`alert_created` log line are in one place. Delivery (monitor.usecases.deliver) reads the rows later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session

from alerts import policy
from alerts.policy import Prior
from monitor.domain import Severity
from monitor.store import outbox, repo

log = structlog.get_logger("monitor.usecases.alerting")


def prior_alerts(s: Session, watchlist: str, subject: str) -> list[Prior]:
    """Earlier alerts about `subject` (a story, a trend subject), for the re-alert window."""
    return [Prior(Severity(sev), created) for sev, created in outbox.prior_alerts(s, watchlist, subject)]


def write_alert(s: Session, alert: repo.NewAlert, now: datetime, *, realert: tuple[Severity, float] | None = None,
                **context: Any) -> int | None:
    """Write `alert`; returns its id, or None when nothing was written.

    `realert` = (severity, window seconds): hold the alert back when an earlier alert about the same subject
    reached that severity within the window (alerts.policy.should_alert). `context` goes to the log line."""
    if realert is not None:
        severity, window = realert
        if not policy.should_alert(prior_alerts(s, alert.watchlist, alert.subject), severity, now=now,
                                   window=window):
            log.info("alert_suppressed", watchlist=alert.watchlist, subject=alert.subject,
                     severity=severity.label, reason="realert_window")
            return None
    alert_id = repo.add_alert(s, alert, now)
    if alert_id is not None:
        log.info("alert_created", alert=alert_id, kind=alert.kind, watchlist=alert.watchlist, subject=alert.subject,
                 severity=Severity(alert.severity).label, score=alert.score, channels=list(alert.channels),
                 **context)
    return alert_id
