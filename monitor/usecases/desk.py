"""What analysts do from the console or a one-click link (issue 17), each in one transaction: acknowledge, snooze
or reopen a story; mark an alert useful or noise. A link's id is spent in the same transaction as its action."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlmodel import Session

from monitor.core.links import LinkClaim
from monitor.core.triage import NOISE_REASONS, VERDICTS
from monitor.errors import MonitorError
from monitor.store import repo, triage
from monitor.store.db import session
from monitor.store.desk_tables import UsedLinkRow
from monitor.store.tables import AlertRow, StoryRow
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.usecases.desk")

LINK_SNOOZE = timedelta(hours=24)


class DeskError(MonitorError):
    """An action that cannot be done as asked (unknown story, bad reason, link already used)."""


@dataclass(frozen=True)
class Actor:
    user: str
    via: str = "console"  # console, link, cli


def acknowledge(rt: Runtime, story_id: str, actor: Actor, now: datetime, comment: str = "") -> None:
    with session(rt.engine) as s:
        _story(s, story_id)
        triage.set_triage(s, story_id, "acked", user=actor.user, now=now, via=actor.via, comment=comment)
        s.commit()
    log.info("story_acknowledged", story=story_id, user=actor.user, via=actor.via)


def snooze(rt: Runtime, story_id: str, until: datetime, actor: Actor, now: datetime) -> None:
    if until <= now:
        raise DeskError("a snooze must end in the future")
    with session(rt.engine) as s:
        _story(s, story_id)
        triage.set_triage(s, story_id, "snoozed", user=actor.user, now=now, until=until, via=actor.via)
        s.commit()
    log.info("story_snoozed", story=story_id, until=until.isoformat(), user=actor.user, via=actor.via)


def reopen(rt: Runtime, story_id: str, actor: Actor, now: datetime) -> None:
    with session(rt.engine) as s:
        _story(s, story_id)
        triage.reopen(s, story_id, user=actor.user, now=now, via=actor.via)
        s.commit()
    log.info("story_reopened", story=story_id, user=actor.user, via=actor.via)


def feedback(rt: Runtime, alert_id: int, verdict: str, actor: Actor, now: datetime, *, reason: str | None = None,
             comment: str = "") -> None:
    with session(rt.engine) as s:
        _feedback(s, alert_id, verdict, actor, now, reason=reason, comment=comment)
        s.commit()


def _feedback(s: Session, alert_id: int, verdict: str, actor: Actor, now: datetime, *, reason: str | None,
              comment: str) -> AlertRow:
    if verdict not in VERDICTS:
        raise DeskError(f"verdict must be one of {', '.join(VERDICTS)}")
    if verdict == "noise" and reason not in NOISE_REASONS:
        raise DeskError(f"a noise verdict needs a reason: one of {', '.join(NOISE_REASONS)}")
    alert = s.get(AlertRow, alert_id)
    if alert is None:
        raise DeskError(f"no alert {alert_id}")
    triage.record_feedback(s, alert, verdict, user=actor.user, now=now, reason=reason if verdict == "noise" else None,
                           comment=comment[:2000], via=actor.via)
    log.info("alert_feedback", alert=alert_id, verdict=verdict, reason=reason, user=actor.user, via=actor.via)
    return alert


def follow_link(rt: Runtime, claim: LinkClaim, now: datetime) -> str:
    """Do what a one-click link says, once: its id is spent in the transaction that acts. Returns what was done."""
    actor = Actor("link", "link")
    with session(rt.engine) as s:
        stmt = repo.insert_for(s.get_bind().dialect.name, UsedLinkRow).values(jti=claim.jti, action=claim.action,
                                                                                used_at=now)
        if s.execute(stmt.on_conflict_do_nothing(index_elements=["jti"]).returning(UsedLinkRow.jti)).first() is None:
            raise DeskError("this link has been used already")
        if claim.action == "snooze":
            alert = s.get(AlertRow, claim.alert_id)
            if alert is None or alert.story_id is None:
                raise DeskError("this alert is about no story: there is nothing to snooze")
            until = now + LINK_SNOOZE
            triage.set_triage(s, alert.story_id, "snoozed", user=actor.user, now=now, until=until, via=actor.via)
            done = f"story snoozed until {until:%Y-%m-%d %H:%M} UTC"
        else:
            reason = "other" if claim.action == "noise" else None
            _feedback(s, claim.alert_id, claim.action, actor, now, reason=reason, comment="one-click link")
            done = f"alert marked {claim.action}"
        s.commit()
    return done


def _story(s: Session, story_id: str) -> StoryRow:
    row = s.get(StoryRow, story_id)
    if row is None:
        raise DeskError(f"no story {story_id}")
    return row
