"""Delivery orchestration: outbox -> flood-control plan -> sender -> every outcome recorded.

Per channel, in order: recover what a dead worker left in flight, hand long-failing channels' alerts
to their fallback, ask `alerts.policy` what to send now (alerts, summaries, digests) and what to hold,
then send each message: claim + record (one transaction), send URL by URL (each confirmation written
at once), record the outcome. Channels run concurrently; one channel's messages go in order.
"""

from __future__ import annotations

import asyncio
import random
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

import structlog
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine
from sqlmodel import Session

from alerts import policy
from alerts.policy import ChannelPolicy, Due, Prior, QuietHours, RateLimit
from alerts.redact import redact
from alerts.render import Renderer
from alerts.sender import Sender, Target, UrlResult
from monitor.config import ChannelConfig, Config
from monitor.core.schedule import retry_delay
from monitor.domain import AlertMessage, Score, Severity
from monitor.store import outbox, repo
from monitor.store.db import session
from monitor.store.tables import AlertRow, DeliveryRow

log = structlog.get_logger("monitor.delivery")
MAX_RETRY_AFTER = 24 * 3600.0  # a Retry-After is honoured as given, up to a day (a bad header must not park alerts)


class Runtime(Protocol):
    """What delivery needs from service.Runtime (a protocol, so this layer does not import the one above)."""

    @property
    def config(self) -> Config: ...
    @property
    def engine(self) -> Engine: ...
    @property
    def sender(self) -> Sender: ...
    @property
    def renderer(self) -> Renderer: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...
    @property
    def rng(self) -> random.Random: ...
    @property
    def worker(self) -> str: ...


@dataclass(frozen=True)
class DeliveryStats:
    delivered: int = 0  # alerts confirmed by their channel (one summary can confirm many)
    failed: int = 0  # gave up (or handed to a fallback channel)
    retrying: int = 0
    held: int = 0  # waiting for quiet hours to end or for a digest
    messages: int = 0  # messages sent

    def __add__(self, other: DeliveryStats) -> DeliveryStats:
        return DeliveryStats(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, int, int, int, int]:
        return (self.delivered, self.failed, self.retrying, self.held, self.messages)


# --- configuration -> pure policy ---


def _severity(label: str) -> Severity | None:
    return None if label == "none" else Severity.parse(label)


def channel_policy(channel: ChannelConfig) -> ChannelPolicy:
    from zoneinfo import ZoneInfo

    quiet = channel.quiet_hours
    return ChannelPolicy(
        rate_limit=RateLimit(channel.rate_limit.messages, channel.rate_limit.per) if channel.rate_limit else None,
        quiet_hours=QuietHours(quiet.start, quiet.end, ZoneInfo(quiet.timezone), _severity(quiet.bypass))
        if quiet else None,
        digest=channel.digest is not None,
        digest_bypass=_severity(channel.digest.bypass) if channel.digest else None,
        summary_size=channel.summary_size,
    )


def digest_triggers(config: Config) -> dict[str, CronTrigger]:
    """One APScheduler cron trigger per channel with a digest schedule (the scheduler runs them)."""
    return {name: CronTrigger.from_crontab(ch.digest.cron, timezone=ch.digest.timezone)
            for name, ch in config.channels.items() if ch.digest is not None}


def next_digest(channel: ChannelConfig, now: datetime) -> datetime | None:
    if channel.digest is None:
        return None
    trigger = CronTrigger.from_crontab(channel.digest.cron, timezone=channel.digest.timezone)
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    return fire


# --- alert creation (called inside the scoring transaction) ---


def subject_of(item_id: int, story_id: int | None = None) -> str:
    """What an alert is about, for the dedup key and the re-alert window: the story once items are
    clustered into stories (then copies of one story alert once unless severity rises), else the item."""
    return f"story:{story_id}" if story_id is not None else f"item:{item_id}"


def prior_alerts(s: Session, watchlist: str, subject: str) -> list[Prior]:
    """Earlier alerts about `subject`, for the re-alert window (story alerts and item alerts alike)."""
    return [Prior(Severity(sev), created) for sev, created in outbox.prior_alerts(s, watchlist, subject)]


def add_alert(s: Session, *, watchlist: str, item_id: int, subject: str, score: Score, message: dict[str, Any],
              channels: tuple[str, ...], now: datetime, realert: float) -> int | None:
    """Write the alert (and its deliveries) unless the re-alert window suppresses it."""
    priors = prior_alerts(s, watchlist, subject)
    if not policy.should_alert(priors, score.severity, now=now, window=realert):
        log.info("alert_suppressed", watchlist=watchlist, item=item_id, subject=subject,
                 severity=score.severity.label, reason="realert_window")
        return None
    key = policy.dedup_key(watchlist, subject, score.severity, priors)
    return repo.add_alert(s, repo.NewAlert(dedup_key=key, item_id=item_id, watchlist=watchlist,
                                           severity=int(score.severity), score=score.value, message=message,
                                           channels=channels, subject=subject), now)


# --- the worker ---


async def deliver_pending(rt: Runtime, *, channels: Collection[str] | None = None) -> DeliveryStats:
    """Send every due delivery; channels in parallel, one channel's messages in order."""
    due = await asyncio.to_thread(_load_due, rt, channels)
    by_channel: dict[str, list[tuple[DeliveryRow, AlertRow]]] = defaultdict(list)
    for delivery, alert in due:
        by_channel[delivery.channel].append((delivery, alert))
    results = await asyncio.gather(*(_deliver_channel(rt, ch, rows) for ch, rows in by_channel.items()))
    return sum(results, DeliveryStats())


def _load_due(rt: Runtime, channels: Collection[str] | None) -> list[tuple[DeliveryRow, AlertRow]]:
    now = rt.clock()
    with session(rt.engine) as s:
        recovered = outbox.recover_expired(s, now)
        s.commit()
        if recovered:
            log.warning("deliveries_recovered", deliveries=len(recovered),
                        reason="lease expired while sending: the outcome was not recorded, sending again")
        return outbox.due(s, now, channels=channels)


async def _deliver_channel(rt: Runtime, channel: str, rows: list[tuple[DeliveryRow, AlertRow]]) -> DeliveryStats:
    config = rt.config.channels.get(channel)
    if config is None or not rt.sender.targets(channel):
        return await asyncio.to_thread(_orphaned, rt, channel, rows)
    now = rt.clock()
    window = config.rate_limit.per if config.rate_limit else 0.0
    state = await asyncio.to_thread(_read_state, rt, channel, now, window)
    rows = await asyncio.to_thread(_fall_back, rt, channel, config, state, rows, now)
    keys = {t.key for t in rt.sender.targets(channel)}
    dues = [Due(d.id or 0, a.id or 0, Severity(a.severity), a.created_at, d.held, frozenset(keys - set(d.done_urls)))
            for d, a in rows]
    plan = policy.plan(dues, channel_policy(config), now=now, recent=state.recent,
                       paused_until=state.paused_until, digest_at=next_digest(config, now))
    if plan.holds:
        await asyncio.to_thread(_hold, rt, plan.holds)
    stats = DeliveryStats(held=sum(len(h.items) for h in plan.holds))
    by_id = {d.id: (d, a) for d, a in rows}
    for send in plan.sends:
        result, stop = await _send(rt, channel, send, by_id)
        stats += result
        if stop:  # the channel said "slow down": the rest waits for its Retry-After
            break
    if plan.deferred:
        log.info("channel_rate_limited", channel=channel, waiting=len(plan.deferred),
                 resume_at=plan.resume_at.isoformat() if plan.resume_at else None)
    return stats


def _read_state(rt: Runtime, channel: str, now: datetime, window: float) -> outbox.ChannelState:
    with session(rt.engine) as s:
        return outbox.channel_state(s, channel, now, window)


def _orphaned(rt: Runtime, channel: str, rows: Sequence[tuple[DeliveryRow, AlertRow]]) -> DeliveryStats:
    """Deliveries to a channel that is no longer configured cannot be sent: fail them, visibly."""
    with session(rt.engine) as s:
        for delivery, _alert in rows:
            row = s.get(DeliveryRow, delivery.id)
            if row is not None:
                row.status, row.last_error = "failed", f"channel {channel!r} is not configured"
                s.add(row)
        s.flush()
        outbox.refresh_alerts(s, [d.id for d, _ in rows if d.id is not None])
        s.commit()
    log.error("channel_not_configured", channel=channel, deliveries=len(rows))
    return DeliveryStats(failed=len(rows))


def _fall_back(rt: Runtime, channel: str, config: ChannelConfig, state: outbox.ChannelState,
               rows: list[tuple[DeliveryRow, AlertRow]], now: datetime) -> list[tuple[DeliveryRow, AlertRow]]:
    """When the channel has failed for longer than its fallback's `after`, deliveries it already tried
    go to the fallback channel; new ones still try this channel once (that is how recovery is seen)."""
    fallback = config.fallback
    if fallback is None or not policy.fallback_active(state.failing_since, now=now, after=fallback.after):
        return rows
    tried = [d.id for d, _ in rows if d.attempts > 0 and d.id is not None]
    if not tried:
        return rows
    with session(rt.engine) as s:
        queued = outbox.reroute(s, tried, fallback=fallback.channel, now=now)
        s.commit()
    log.warning("channel_fallback", channel=channel, fallback=fallback.channel, deliveries=len(tried),
                queued=queued, failing_since=state.failing_since.isoformat() if state.failing_since else None)
    return [(d, a) for d, a in rows if d.id not in set(tried)]


def _hold(rt: Runtime, holds: Sequence[policy.Hold]) -> None:
    with session(rt.engine) as s:
        for held in holds:
            outbox.hold(s, [i.delivery_id for i in held.items], until=held.until, reason=held.reason)
        s.commit()
    for held in holds:
        log.info("alerts_held", reason=held.reason, until=held.until.isoformat(),
                 alerts=[i.alert_id for i in held.items])


async def _send(rt: Runtime, channel: str, send: policy.Send,
                by_id: dict[int | None, tuple[DeliveryRow, AlertRow]]) -> tuple[DeliveryStats, bool]:
    settings = rt.config.settings.delivery
    targets = [t for t in rt.sender.targets(channel) if t.key in send.targets]
    ids = [i.delivery_id for i in send.items]
    now = rt.clock()
    lease = settings.timeout * max(1, len(targets)) + settings.lease
    send_id = await asyncio.to_thread(_start, rt, channel, send.kind, ids, now, lease)
    if send_id is None:
        return DeliveryStats(), False  # another worker claimed these first
    messages = [AlertMessage.from_json({**by_id[i.delivery_id][1].message, "alert_id": i.alert_id})
                for i in send.items]
    rendered = rt.renderer.alert(messages[0]) if send.kind == policy.ALERT else rt.renderer.summary(messages, send.kind)
    severity = max(m.severity for m in messages)
    headers = {"X-Monitor-Send": str(send_id), "X-Monitor-Alerts": ",".join(str(m.alert_id) for m in messages)}
    results: list[tuple[Target, UrlResult]] = []
    for target in targets:
        result = await rt.sender.send_to(target, rendered, severity=severity, headers=headers)
        results.append((target, result))
        if result.ok and len(targets) > 1:  # confirm at once: a crash before the end must not resend here
            await asyncio.to_thread(_confirm, rt, ids, target.key)
    return await asyncio.to_thread(_finish, rt, channel, send, send_id, results, by_id)


def _start(rt: Runtime, channel: str, kind: str, ids: list[int], now: datetime, lease: float) -> int | None:
    with session(rt.engine) as s:
        send_id = outbox.start_send(s, channel=channel, kind=kind, delivery_ids=ids, worker=rt.worker, now=now,
                                    lease=lease)
        s.commit()
        return send_id


def _confirm(rt: Runtime, ids: list[int], key: str) -> None:
    with session(rt.engine) as s:
        outbox.confirm_url(s, ids, key)
        s.commit()


def _finish(rt: Runtime, channel: str, send: policy.Send, send_id: int, results: list[tuple[Target, UrlResult]],
            by_id: dict[int | None, tuple[DeliveryRow, AlertRow]]) -> tuple[DeliveryStats, bool]:
    settings = rt.config.settings.delivery
    now = rt.clock()
    ok = all(r.ok for _, r in results)
    errors = [f"{t.display}: {r.error}" for t, r in results if not r.ok]
    waits = [r.retry_after for _, r in results if r.retry_after is not None]
    statuses = [r.status for _, r in results if not r.ok and r.status is not None]
    rate_limited = 429 in statuses
    outcome = outbox.Outcome(ok=ok, error=redact("; ".join(errors))[:2000] or None,
                             http_status=statuses[-1] if statuses else None,
                             retry_after=min(max(waits), MAX_RETRY_AFTER) if waits else None,
                             rate_limited=rate_limited)
    retry_at: dict[int, datetime | None] = {}
    for item in send.items:
        attempts = by_id[item.delivery_id][0].attempts + 1
        if ok or attempts >= settings.max_attempts:
            retry_at[item.delivery_id] = None
        else:
            delay = retry_delay(attempts, base=settings.backoff, cap=settings.max_backoff, rng=rt.rng)
            retry_at[item.delivery_id] = now + timedelta(seconds=max(delay, outcome.retry_after or 0.0))
    gave_up = [d for d, when in retry_at.items() if when is None and not ok]
    fallback = rt.config.channels[channel].fallback if channel in rt.config.channels else None
    accepted = [t.key for t, r in results if r.ok]
    done_urls = {d: sorted({*by_id[d][0].done_urls, *accepted}) for d in retry_at}
    with session(rt.engine) as s:
        outbox.finish_send(s, send_id, outcome=outcome, now=now, retry_at=retry_at, done_urls=done_urls)
        if gave_up and fallback is not None:
            outbox.reroute(s, gave_up, fallback=fallback.channel, now=now)
        s.commit()
    alerts = [i.alert_id for i in send.items]
    if ok:
        log.info("alert_delivered", channel=channel, send=send_id, kind=send.kind, alert=alerts[0] if len(alerts) == 1
                 else None, alerts=alerts if len(alerts) > 1 else None)
        return DeliveryStats(delivered=len(alerts), messages=1), False
    if gave_up:
        log.error("alert_delivery_gave_up", channel=channel, send=send_id, alerts=alerts, error=outcome.error,
                  fallback=fallback.channel if fallback else None)
    else:
        log.warning("alert_delivery_failed", channel=channel, send=send_id, alerts=alerts, error=outcome.error,
                    status=outcome.http_status, retry_after=outcome.retry_after)
    return DeliveryStats(failed=len(gave_up), retrying=len(alerts) - len(gave_up)), rate_limited
