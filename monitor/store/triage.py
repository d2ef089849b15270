"""Story triage and alert feedback rows (issue 17): what analysts did, and the state it leaves a story in."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, delete, select

from monitor.core.triage import Triage
from monitor.store.desk_tables import FeedbackRow, TriageEventRow, TriageRow
from monitor.store.tables import AlertRow


def triage_of(s: Session, story_id: str) -> Triage | None:
    row = s.get(TriageRow, story_id)
    return None if row is None else Triage(row.state, row.severity, row.until)


def set_triage(s: Session, story_id: str, state: str, *, user: str, now: datetime, until: datetime | None = None,
               via: str = "console", comment: str = "") -> None:
    """Acknowledge (`acked`) or snooze (`snoozed`, until) a story, at the highest severity alerted about it."""
    severity = s.exec(select(AlertRow.severity).where(AlertRow.story_id == story_id)
                      .order_by(col(AlertRow.severity).desc()).limit(1)).first() or 0
    row = s.get(TriageRow, story_id) or TriageRow(story_id=story_id, state=state, user=user, at=now)
    row.state, row.severity, row.until, row.user, row.at = state, severity, until, user, now
    s.add(row)
    action = "ack" if state == "acked" else "snooze"
    s.add(TriageEventRow(story_id=story_id, action=action, user=user, via=via, at=now, comment=comment,
                         reason=until.isoformat() if until else None))


def reopen(s: Session, story_id: str, *, user: str, now: datetime, via: str = "console") -> None:
    s.exec(delete(TriageRow).where(col(TriageRow.story_id) == story_id))
    s.add(TriageEventRow(story_id=story_id, action="reopen", user=user, via=via, at=now))


def record_feedback(s: Session, alert: AlertRow, verdict: str, *, user: str, now: datetime, reason: str | None = None,
                    comment: str = "", via: str = "console") -> None:
    """The analyst's verdict on `alert`; a second verdict replaces the first (the events keep both)."""
    assert alert.id is not None
    row = s.exec(select(FeedbackRow).where(FeedbackRow.alert_id == alert.id)).first()
    row = row or FeedbackRow(alert_id=alert.id, watchlist=alert.watchlist, verdict=verdict, user=user, at=now)
    row.verdict, row.reason, row.comment, row.user, row.at = verdict, reason, comment, user, now
    s.add(row)
    s.add(TriageEventRow(story_id=alert.story_id, alert_id=alert.id, action=verdict, reason=reason, comment=comment,
                         user=user, via=via, at=now))


def events(s: Session, story_id: str) -> list[TriageEventRow]:
    return list(s.exec(select(TriageEventRow).where(TriageEventRow.story_id == story_id)
                       .order_by(col(TriageEventRow.at))))
