"""The one way an alert is written: an alert row and one pending delivery per channel, in the caller's
transaction, unless its dedup key has alerted already or the re-alert window holds it back.

Story alerts and trend alerts both come through here, so the re-alert window (`delivery.realert`), the
analysts' holds (issue 17: silences, acknowledged and snoozed stories) and the `alert_created` / `alert_held`
log lines are in one place. Delivery (monitor.usecases.deliver) reads the rows later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session

from alerts import policy
from alerts.policy import Prior
from monitor.core.silences import AlertFacts
from monitor.core.triage import hold_reason
from monitor.domain import Severity
from monitor.store import outbox, repo, silences, triage

log = structlog.get_logger("monitor.usecases.alerting")


def prior_alerts(s: Session, watchlist: str, subject: str) -> list[Prior]:
    """Earlier alerts about `subject` (a story, a trend subject), for the re-alert window."""
    return [Prior(Severity(sev), created) for sev, created in outbox.prior_alerts(s, watchlist, subject)]


def facts_of(alert: repo.NewAlert) -> AlertFacts:
    """What a silence may match, from the alert's message (feed, title, actors) and its feed's tags."""
    message = alert.message
    return AlertFacts(watchlist=alert.watchlist, feed=str(message.get("feed", "")),
                      title=str(message.get("title", "")),
                      actors=frozenset(str(a) for a in message.get("actors", ())), tags=frozenset(alert.tags))


def holds(s: Session, alert: repo.NewAlert, now: datetime) -> tuple[str | None, bool]:
    """(why the alert is recorded but not sent, or None; whether it rises above its story's triage).

    A silence is a person's explicit rule, so it is named first. A rise reopens the story even when a silence
    holds the alert: the story has news its analyst has not seen, and the inbox should say so."""
    rises, by_triage = False, None
    if alert.story_id is not None:  # trends are about no story: silenced, never snoozed or acknowledged
        state = triage.triage_of(s, alert.story_id)
        by_triage = hold_reason(state, alert.severity, now)
        rises = state is not None and alert.severity > state.severity
    silence = silences.silencing(s, facts_of(alert), now)
    return (f"silence:{silence.id}" if silence is not None else by_triage), rises


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
    held_by, rises = holds(s, alert, now)
    alert_id = repo.add_alert(s, alert, now, held_by=held_by)
    if alert_id is None:
        return None
    if rises and alert.story_id is not None:
        triage.reopen(s, alert.story_id, user="system", now=now, via="alert")
        log.info("story_reopened", story=alert.story_id, alert=alert_id, severity=Severity(alert.severity).label)
    fields = {"alert": alert_id, "kind": alert.kind, "watchlist": alert.watchlist, "subject": alert.subject,
              "severity": Severity(alert.severity).label, "score": alert.score, **context}
    if held_by:
        log.info("alert_held", reason=held_by, **fields)
    else:
        log.info("alert_created", channels=list(alert.channels), **fields)
    return alert_id
