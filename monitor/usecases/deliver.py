"""Delivery orchestration: outbox -> flood-control plan -> sender -> every outcome recorded.

Per channel, in order: recover what a dead worker left in flight, hand long-failing channels' alerts
to their fallback, ask `alerts.policy` what to send now (alerts, summaries, digests) and what to hold,
then send each message: claim + record (one transaction), send URL by URL (each confirmation written
at once), record the outcome. Channels run concurrently; one channel's messages go in order.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from alerts import policy
from alerts.policy import Due
from alerts.redact import redact
from alerts.sender import Target, UrlResult
from monitor.config import ChannelConfig
from monitor.core import links
from monitor.core.schedule import retry_delay
from monitor.domain import AlertMessage, Severity
from monitor.store import outbox
from monitor.store.db import session
from monitor.store.secrets import app_secret
from monitor.store.tables import AlertRow, DeliveryRow
from monitor.usecases.channel_policy import channel_policy, next_digest
from monitor.usecases.context import Runtime

log = structlog.get_logger("monitor.usecases.deliver")
MAX_RETRY_AFTER = 24 * 3600.0  # a Retry-After is honoured as given, up to a day (a bad header must not park alerts)


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


def _retry_times(rt: Runtime, send: policy.Send, by_id: dict[int | None, tuple[DeliveryRow, AlertRow]], *, ok: bool,
                 now: datetime, not_before: float) -> dict[int, datetime | None]:
    """When each delivery of the send is tried again: never when it went out or its attempts are spent."""
    settings = rt.config.settings.delivery
    retry_at: dict[int, datetime | None] = {}
    for item in send.items:
        attempts = by_id[item.delivery_id][0].attempts + 1
        if ok or attempts >= settings.max_attempts:
            retry_at[item.delivery_id] = None
        else:
            delay = retry_delay(attempts, base=settings.backoff, cap=settings.max_backoff, rng=rt.rng)
            retry_at[item.delivery_id] = now + timedelta(seconds=max(delay, not_before))
    return retry_at


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
    messages = await asyncio.to_thread(_messages, rt, send, by_id)
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


def _messages(rt: Runtime, send: policy.Send,
              by_id: dict[int | None, tuple[DeliveryRow, AlertRow]]) -> list[AlertMessage]:
    """The send's alerts as messages. With http.public_url each carries its console page and one-click links,
    signed now rather than when the alert was written: a digest may go out hours later, and the week a token
    lives should start when a person can first click it."""
    base = rt.config.settings.http.public_url
    key = app_secret(rt.engine, links.KEY_NAME) if base else ""
    out = []
    for item in send.items:
        alert = by_id[item.delivery_id][1]
        message = AlertMessage.from_json({**alert.message, "alert_id": item.alert_id})
        if base:
            message = replace(message, links=links.alert_links(base, key, item.alert_id, alert.story_id))
        out.append(message)
    return out


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
    retry_at = _retry_times(rt, send, by_id, ok=ok, now=now, not_before=outcome.retry_after or 0.0)
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
