"""Read views for the console (issue 17): the inbox of alerted stories, one story with its timeline, alerts.
Plain dicts for the templates and the JSON API; feed content goes out as text (the templates escape it)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, String, and_, cast, exists, false, or_
from sqlmodel import Session, col, select

from alerts.redact import redact
from monitor.domain import Severity
from monitor.store import triage
from monitor.store.db import session
from monitor.store.desk_tables import FeedbackRow, TriageRow
from monitor.store.tables import AlertRow, DeliveryRow, FeedRow, ItemRow, StoryAlertRow, StoryRow

PAGE = 50
STATES = ("open", "acked", "snoozed")


@dataclass(frozen=True)
class Filters:
    watchlist: str = ""
    severity: int = 0  # at least
    actor: str = ""
    feed: str = ""
    state: str = ""  # open, acked, snoozed; "" for all
    q: str = ""

    def where(self, now: datetime) -> list[Any]:
        clauses: list[Any] = [col(StoryRow.alerted_at).is_not(None)]
        if self.severity:
            clauses.append(col(StoryRow.alert_severity) >= self.severity)
        if self.watchlist:
            clauses.append(exists().where(col(StoryAlertRow.story_id) == col(StoryRow.id),
                                          col(StoryAlertRow.watchlist) == self.watchlist))
        if self.q:
            clauses.append(col(StoryRow.title).ilike(f"%{_like(self.q)}%", escape="\\"))
        if self.feed:
            clauses.append(exists().where(col(ItemRow.story_id) == col(StoryRow.id), col(FeedRow.name) == self.feed,
                                          col(FeedRow.id) == col(ItemRow.feed_id)))
        if self.actor:  # actors are stored in the alert's message (JSON): matched as a quoted string in it
            clauses.append(exists().where(col(AlertRow.story_id) == col(StoryRow.id),
                                          cast(AlertRow.message, String).ilike(f'%"{_like(self.actor)}"%',
                                                                               escape="\\")))
        if self.state:
            clauses.append(_state_clause(self.state, now))
        return clauses


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _state_clause(state: str, now: datetime) -> Any:
    triaged = select(TriageRow.story_id).where(or_(
        col(TriageRow.state) == "acked", and_(col(TriageRow.state) == "snoozed", col(TriageRow.until) > now)))
    if state == "open":
        return col(StoryRow.id).not_in(triaged)
    if state == "acked":
        return col(StoryRow.id).in_(select(TriageRow.story_id).where(col(TriageRow.state) == "acked"))
    if state == "snoozed":
        return col(StoryRow.id).in_(select(TriageRow.story_id).where(col(TriageRow.state) == "snoozed",
                                                                     col(TriageRow.until) > now))
    return false()


def inbox(engine: Engine, filters: Filters, now: datetime, *, after: tuple[datetime, str] | None = None,
          limit: int = PAGE) -> tuple[list[dict[str, Any]], tuple[datetime, str] | None]:
    """One page of alerted stories, newest alert first, and the cursor of the next page (None on the last)."""
    query = select(StoryRow).where(*filters.where(now))
    if after is not None:
        at, story_id = after
        # The first condition alone bounds the index range; the OR alone would read every alerted story.
        query = query.where(col(StoryRow.alerted_at) <= at,
                            or_(col(StoryRow.alerted_at) < at, col(StoryRow.id) < story_id))
    query = query.order_by(col(StoryRow.alerted_at).desc(), col(StoryRow.id).desc()).limit(limit + 1)
    with session(engine) as s:
        rows = list(s.exec(query))
        more = len(rows) > limit
        rows = rows[:limit]
        ids = [r.id for r in rows]
        watchlists = _watchlists(s, ids)
        states = {t.story_id: t for t in s.exec(select(TriageRow).where(col(TriageRow.story_id).in_(ids)))}
    page = [{"id": r.id, "title": r.title, "first_seen": r.first_seen, "last_seen": r.last_seen,
             "alerted_at": r.alerted_at, "severity": Severity(r.alert_severity).label, "sources": len(r.sources),
             "watchlists": watchlists.get(r.id, []), "state": _state(states.get(r.id), now)} for r in rows]
    last = rows[-1] if rows else None
    cursor = (last.alerted_at, last.id) if more and last is not None and last.alerted_at is not None else None
    return page, cursor


def _watchlists(s: Session, story_ids: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for story_id, name in s.exec(select(StoryAlertRow.story_id, StoryAlertRow.watchlist)
                                 .where(col(StoryAlertRow.story_id).in_(story_ids), col(StoryAlertRow.alerts) > 0)
                                 .order_by(col(StoryAlertRow.watchlist))):
        out.setdefault(story_id, []).append(name)
    return out


def _state(row: TriageRow | None, now: datetime) -> dict[str, Any]:
    if row is None or (row.state == "snoozed" and (row.until is None or row.until <= now)):
        return {"name": "open"}
    return {"name": row.state, "by": row.user, "at": row.at, "until": row.until}


def story(engine: Engine, story_id: str, now: datetime) -> dict[str, Any] | None:
    """The story with its member items (each with its link), alerts (explanation, deliveries, feedback) and a
    timeline of items, alerts and analysts' actions."""
    with session(engine) as s:
        row = s.get(StoryRow, story_id)
        if row is None:
            return None
        items = s.exec(select(ItemRow, FeedRow.name).join(FeedRow, col(FeedRow.id) == col(ItemRow.feed_id))
                       .where(col(ItemRow.story_id) == story_id).order_by(col(ItemRow.fetched_at))).all()
        alert_rows = list(s.exec(select(AlertRow).where(col(AlertRow.story_id) == story_id)
                                 .order_by(col(AlertRow.created_at))))
        alerts = alert_views(s, alert_rows)
        events = triage.events(s, story_id)
        state = _state(s.get(TriageRow, story_id), now)
    members = [{"id": i.id, "title": i.title, "link": i.link, "feed": feed, "published": i.published,
                "fetched_at": i.fetched_at, "language": i.language} for i, feed in items]
    timeline = sorted(
        [{"at": m["fetched_at"], "kind": "item", "text": f"{m['feed']}: {m['title']}"} for m in members]
        + [{"at": a["created_at"], "kind": "alert",
            "text": f"{a['severity']} alert ({a['kind']}) for {a['watchlist']}, {a['status']}"} for a in alerts]
        + [{"at": e.at, "kind": e.action, "text": _event_text(e.action, e.user, e.reason, e.comment, e.via)}
           for e in events], key=lambda entry: entry["at"])
    return {"id": row.id, "title": row.title, "first_seen": row.first_seen, "last_seen": row.last_seen,
            "sources": list(row.sources), "severity": Severity(row.alert_severity).label, "state": state,
            "items": members, "alerts": alerts, "timeline": timeline}


def _event_text(action: str, user: str, reason: str | None, comment: str, via: str) -> str:
    if action == "snooze" and reason:
        with contextlib.suppress(ValueError):
            reason = f"{datetime.fromisoformat(reason):%Y-%m-%d %H:%M} UTC"
    text = {"ack": "acknowledged", "snooze": f"snoozed until {reason}", "reopen": "reopened",
            "useful": "marked an alert useful", "noise": f"marked an alert noise ({reason})"}.get(action, action)
    return f"{user} {text}" + (f" via {via}" if via != "console" else "") + (f": {comment}" if comment else "")


def alert_views(s: Session, rows: list[AlertRow]) -> list[dict[str, Any]]:
    ids = [a.id for a in rows if a.id is not None]
    deliveries: dict[int, list[dict[str, Any]]] = {}
    for d in s.exec(select(DeliveryRow).where(col(DeliveryRow.alert_id).in_(ids)).order_by(col(DeliveryRow.channel))):
        deliveries.setdefault(d.alert_id, []).append({
            "channel": d.channel, "status": d.status, "attempts": d.attempts, "delivered_at": d.delivered_at,
            "last_error": redact(d.last_error) if d.last_error else None})
    feedback = {f.alert_id: f for f in s.exec(select(FeedbackRow).where(col(FeedbackRow.alert_id).in_(ids)))}
    out = []
    for a in rows:
        m, f = a.message, feedback.get(a.id or 0)
        out.append({
            "id": a.id, "created_at": a.created_at, "watchlist": a.watchlist, "kind": a.kind,
            "severity": Severity(a.severity).label, "score": a.score, "status": a.status, "held_by": a.held_by,
            "story_id": a.story_id, "title": m.get("title", ""), "link": m.get("link", ""), "feed": m.get("feed", ""),
            "published": m.get("published"), "actors": m.get("actors", []), "terms": m.get("terms", []),
            "language": m.get("language"), "contributions": m.get("contributions", []),
            "deliveries": deliveries.get(a.id or 0, []),
            "feedback": None if f is None else {"verdict": f.verdict, "reason": f.reason, "user": f.user,
                                                "comment": f.comment, "at": f.at}})
    return out


def alerts_page(engine: Engine, *, status: str | None = None, before: int | None = None,
                limit: int = PAGE) -> tuple[list[dict[str, Any]], int | None]:
    """Alerts newest first, `before` an alert id (the cursor); the next cursor, or None on the last page."""
    query = select(AlertRow).order_by(col(AlertRow.id).desc()).limit(limit + 1)
    if status:
        query = query.where(col(AlertRow.status) == status)
    if before is not None:
        query = query.where(col(AlertRow.id) < before)
    with session(engine) as s:
        rows = list(s.exec(query))
        views = alert_views(s, rows[:limit])
    return views, (rows[limit - 1].id if len(rows) > limit else None)


def alert(engine: Engine, alert_id: int) -> dict[str, Any] | None:
    with session(engine) as s:
        row = s.get(AlertRow, alert_id)
        return None if row is None else alert_views(s, [row])[0]
