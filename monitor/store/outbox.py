"""The outbox's delivery state: claims with leases, holds, every attempt, outcomes per channel URL.

The life of a delivery (one alert to one channel):

    pending --claim (start_send)--> sending --finish_send--> delivered | pending (retry) | failed | rerouted
       ^                               |
       +------ lease expired ----------+   (recover_expired: the process died mid-send)

A send's claim, its `sends` row and its attempt rows are one transaction, so after a crash the
database says exactly which deliveries may have left: those still `sending`. They are sent again
(at least once); everything `delivered` is never sent again (at most once per confirmed URL).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import JSON, CursorResult, and_, bindparam, case, exists, func, insert, or_, update
from sqlmodel import Session, col, select

from monitor.store.tables import AlertRow, AttemptRow, DeliveryRow, SendRow

LIVE = ("sending", "sent", "unknown")  # sends that (may) have reached the channel: the rate limit counts them


def due(session: Session, now: datetime, *, channels: Collection[str] | None = None,
        limit: int = 2000) -> list[tuple[DeliveryRow, AlertRow]]:
    """Pending deliveries whose time has come and that nobody holds a live claim on."""
    query = (
        select(DeliveryRow, AlertRow)
        .join(AlertRow, col(AlertRow.id) == col(DeliveryRow.alert_id))
        .where(DeliveryRow.status == "pending", col(DeliveryRow.next_attempt_at) <= now)
        .where(or_(col(DeliveryRow.claimed_until).is_(None), col(DeliveryRow.claimed_until) < now))
        .order_by(col(DeliveryRow.next_attempt_at), col(DeliveryRow.id))
        .limit(limit)
    )
    if channels is not None:
        query = query.where(col(DeliveryRow.channel).in_(list(channels)))
    return [(d, a) for d, a in session.exec(query)]


def recover_expired(session: Session, now: datetime) -> list[int]:
    """Deliveries left `sending` by a worker whose lease ran out (it crashed or hung): back to pending,
    their open attempts marked interrupted, their sends marked unknown. Returns the delivery ids."""
    stale = list(session.exec(select(DeliveryRow.id, DeliveryRow.send_id).where(
        DeliveryRow.status == "sending", col(DeliveryRow.claimed_until) < now)))
    if not stale:
        return []
    ids = [d for d, _ in stale]
    sends = {s for _, s in stale if s is not None}
    session.execute(update(DeliveryRow).where(col(DeliveryRow.id).in_(ids)).values(
        status="pending", next_attempt_at=now, claimed_by=None, claimed_until=None))
    interrupted = "worker stopped before the outcome was known"
    session.execute(update(AttemptRow).where(col(AttemptRow.delivery_id).in_(ids), col(AttemptRow.outcome) == "started")
                    .values(outcome="interrupted", finished_at=now, error=interrupted))
    session.execute(update(SendRow).where(col(SendRow.id).in_(sends), col(SendRow.status) == "sending")
                    .values(status="unknown", finished_at=now))
    return [i for i in ids if i is not None]


@dataclass(frozen=True)
class ChannelState:
    recent: tuple[datetime, ...]  # start times of messages in the rate window
    failing_since: datetime | None  # first failed send after the last good one
    paused_until: datetime | None  # a 429's Retry-After


def channel_state(session: Session, channel: str, now: datetime, window: float) -> ChannelState:
    since = now - timedelta(seconds=window)
    recent = tuple(session.exec(select(SendRow.started_at).where(
        SendRow.channel == channel, col(SendRow.status).in_(LIVE), col(SendRow.kind) != "test",
        col(SendRow.started_at) > since)))
    last_ok = session.exec(select(func.max(SendRow.finished_at)).where(
        SendRow.channel == channel, SendRow.status == "sent")).one()
    failed = select(func.min(SendRow.started_at)).where(SendRow.channel == channel, SendRow.status == "failed")
    if last_ok is not None:
        failed = failed.where(col(SendRow.started_at) > last_ok)
    failing_since = session.exec(failed).one()
    last = session.exec(select(SendRow).where(SendRow.channel == channel, col(SendRow.retry_after).is_not(None))
                        .order_by(col(SendRow.id).desc()).limit(1)).first()
    paused = None
    if last is not None and last.retry_after is not None and last.finished_at is not None:
        paused = last.finished_at + timedelta(seconds=last.retry_after)
    return ChannelState(recent, failing_since, paused if paused and paused > now else None)


def hold(session: Session, delivery_ids: Sequence[int], *, until: datetime, reason: str) -> None:
    session.execute(update(DeliveryRow).where(col(DeliveryRow.id).in_(list(delivery_ids)),
                                              col(DeliveryRow.status) == "pending")
                    .values(held=reason, next_attempt_at=until))


def start_send(session: Session, *, channel: str, kind: str, delivery_ids: Sequence[int], worker: str,
               now: datetime, lease: float) -> int | None:
    """Claim the deliveries and record the send and one started attempt each, atomically. None when
    another worker claimed any of them first (nothing is written then)."""
    send = SendRow(channel=channel, kind=kind, alerts=len(delivery_ids), worker=worker, started_at=now)
    session.add(send)
    session.flush()
    claimed = session.execute(
        update(DeliveryRow)
        .where(col(DeliveryRow.id).in_(list(delivery_ids)), col(DeliveryRow.status) == "pending")
        .where(or_(col(DeliveryRow.claimed_until).is_(None), col(DeliveryRow.claimed_until) < now))
        .values(status="sending", claimed_by=worker, claimed_until=now + timedelta(seconds=lease), send_id=send.id)
    )
    if cast(CursorResult[Any], claimed).rowcount != len(delivery_ids):
        session.rollback()
        return None
    assert send.id is not None
    session.execute(insert(AttemptRow), [{"delivery_id": d, "send_id": send.id, "channel": channel,
                                          "started_at": now, "outcome": "started"} for d in delivery_ids])
    return send.id


def confirm_url(session: Session, delivery_ids: Sequence[int], key: str) -> None:
    """A channel URL accepted the message: remember it per delivery so no retry sends it there again."""
    for row in session.exec(select(DeliveryRow).where(col(DeliveryRow.id).in_(list(delivery_ids)))):
        if key not in row.done_urls:
            row.done_urls = [*row.done_urls, key]
            session.add(row)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    error: str | None = None
    http_status: int | None = None
    retry_after: float | None = None
    rate_limited: bool = False


# Prebuilt: finishing a send is the hot path, and building SQLAlchemy statements costs more than running them.
_SEND_DONE = update(SendRow).where(col(SendRow.id) == bindparam("p_send")).values(
    status=bindparam("p_status"), finished_at=bindparam("p_now"), error=bindparam("p_error"),
    http_status=bindparam("p_http"), retry_after=bindparam("p_wait"))
_ATTEMPTS_DONE = update(AttemptRow).where(col(AttemptRow.send_id) == bindparam("p_send"),
                                          col(AttemptRow.outcome) == "started").values(
    outcome=bindparam("p_outcome"), finished_at=bindparam("p_now"), error=bindparam("p_error"))
_RELEASE = {"claimed_by": None, "claimed_until": None, "attempts": col(DeliveryRow.attempts) + 1,
            "done_urls": bindparam("p_done", type_=JSON)}
_WHERE_DELIVERY = col(DeliveryRow.id) == bindparam("p_id")
_DELIVERED = update(DeliveryRow).where(_WHERE_DELIVERY).values(
    status="delivered", delivered_at=bindparam("p_now"), last_error=None, held=None, **_RELEASE)
_RETRY = update(DeliveryRow).where(_WHERE_DELIVERY).values(
    status="pending", next_attempt_at=bindparam("p_next"), last_error=bindparam("p_error"), **_RELEASE)
_GIVE_UP = update(DeliveryRow).where(_WHERE_DELIVERY).values(
    status="failed", last_error=bindparam("p_error"), **_RELEASE)


def finish_send(session: Session, send_id: int, *, outcome: Outcome, now: datetime,
                retry_at: dict[int, datetime | None], done_urls: dict[int, list[str]]) -> None:
    """Record how a send ended, for the send, each attempt, and each delivery. `retry_at[d]` is when
    delivery d tries again after a failure, None to give up; `done_urls[d]` its URL keys that accepted."""
    error = (outcome.error or "")[:2000] or None
    attempt = "ok" if outcome.ok else ("rate_limited" if outcome.rate_limited else "failed")
    session.execute(_SEND_DONE, {"p_send": send_id, "p_status": "sent" if outcome.ok else "failed", "p_now": now,
                                 "p_error": error, "p_http": outcome.http_status, "p_wait": outcome.retry_after})
    session.execute(_ATTEMPTS_DONE, {"p_send": send_id, "p_outcome": attempt, "p_now": now, "p_error": error})
    for delivery_id, when in retry_at.items():
        params = {"p_id": delivery_id, "p_done": done_urls.get(delivery_id, []), "p_now": now, "p_error": error,
                  "p_next": when}
        statement = _DELIVERED if outcome.ok else (_RETRY if when is not None else _GIVE_UP)
        session.execute(statement, params)  # parameters a statement does not use are ignored
    refresh_alerts(session, list(retry_at))


def reroute(session: Session, delivery_ids: Sequence[int], *, fallback: str, now: datetime) -> int:
    """Hand deliveries to the fallback channel: the original is closed as `rerouted`, a new delivery is
    queued on the fallback (unless that channel already has this alert). Returns how many were queued."""
    rows = list(session.exec(select(DeliveryRow).where(col(DeliveryRow.id).in_(list(delivery_ids)))))
    have = set(session.exec(select(DeliveryRow.alert_id).where(
        DeliveryRow.channel == fallback, col(DeliveryRow.alert_id).in_([r.alert_id for r in rows]))))
    queued = 0
    for row in rows:
        row.status, row.claimed_by, row.claimed_until = "rerouted", None, None
        session.add(row)
        if row.alert_id not in have:
            session.add(DeliveryRow(alert_id=row.alert_id, channel=fallback, next_attempt_at=now, via=row.channel))
            queued += 1
    session.flush()
    refresh_alerts(session, list(delivery_ids))
    return queued


def retry(session: Session, *, alert_id: int | None, now: datetime) -> int:
    """Failed deliveries (of one alert, or all) back to pending with a fresh attempt budget."""
    where = [DeliveryRow.status == "failed", *([DeliveryRow.alert_id == alert_id] if alert_id is not None else [])]
    ids = [i for i in session.exec(select(DeliveryRow.id).where(*where)) if i is not None]
    if ids:
        session.execute(update(DeliveryRow).where(col(DeliveryRow.id).in_(ids)).values(
            status="pending", attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None))
        refresh_alerts(session, ids)
    return len(ids)


def _any_delivery(*statuses: str) -> Any:
    return exists().where(col(DeliveryRow.alert_id) == col(AlertRow.id), col(DeliveryRow.status).in_(statuses))


# An alert is pending while any delivery may still go, failed if one gave up, else delivered. A held alert has
# no deliveries, so none of these ids leads to it; the status test says so where the rule is written.
_REFRESH = update(AlertRow).where(col(AlertRow.id).in_(
    select(DeliveryRow.alert_id).where(col(DeliveryRow.id).in_(bindparam("p_ids", expanding=True)))
    .scalar_subquery()), col(AlertRow.status) != "held").values(
    status=case((_any_delivery("pending", "sending"), "pending"), (_any_delivery("failed"), "failed"),
                else_="delivered"))


def refresh_alerts(session: Session, delivery_ids: Sequence[int]) -> None:
    """Recompute the status of the alerts these deliveries belong to (one prebuilt statement)."""
    session.execute(_REFRESH, {"p_ids": list(delivery_ids)})


def prior_alerts(session: Session, watchlist: str, subject: str) -> list[tuple[int, datetime]]:
    """(severity, created_at) of earlier alerts about the same story or item for this watchlist."""
    rows = session.exec(select(AlertRow.severity, AlertRow.created_at).where(
        and_(col(AlertRow.watchlist) == watchlist, col(AlertRow.subject) == subject)))
    return [(int(sev), created) for sev, created in rows]


def attempts_for(session: Session, alert_id: int) -> list[AttemptRow]:
    query = (select(AttemptRow).join(DeliveryRow, col(DeliveryRow.id) == col(AttemptRow.delivery_id))
             .where(DeliveryRow.alert_id == alert_id).order_by(col(AttemptRow.id)))
    return list(session.exec(query))
