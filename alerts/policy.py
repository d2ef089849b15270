"""Flood control, pure: which due deliveries go out now, as what, and which wait.

No clock, no database, no I/O: the orchestrator (monitor.usecases.deliver) reads the state, passes `now` in,
and carries out the returned Plan. That is what makes these rules testable by property.

- Rate limit: at most `messages` per `per` seconds to a channel (a sliding window over what was
  really sent). When more alerts are due than the window has room for, they go out as summaries
  (each naming up to `summary_size` alerts) instead of one message each; what still does not fit
  waits for the window to move.
- Quiet hours: alerts below the bypass severity are held until the quiet period ends, then sent
  together as a digest.
- Digest channels: alerts below the bypass severity are held until the channel's next scheduled
  digest (the caller computes that time from the cron trigger).
- Re-alert window: one story (or item) alerts once per watchlist unless its severity rises.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo

from monitor.domain import Severity

ALERT, SUMMARY, DIGEST = "alert", "summary", "digest"
QUIET, SCHEDULED = "quiet", "digest"  # why a delivery is held


@dataclass(frozen=True, slots=True)
class RateLimit:
    messages: int
    per: float  # seconds


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: time  # local wall-clock time in `tz`
    end: time
    tz: tzinfo
    bypass: Severity | None = Severity.CRITICAL  # this severity and above is sent anyway


@dataclass(frozen=True, slots=True)
class ChannelPolicy:
    rate_limit: RateLimit | None = None
    quiet_hours: QuietHours | None = None
    digest: bool = False  # hold alerts for the scheduled digest
    digest_bypass: Severity | None = None
    summary_size: int = 25  # alerts named per summary or digest message


@dataclass(frozen=True, slots=True)
class Due:
    """One delivery that may be sent now. `targets` are the channel URLs that have not confirmed it."""

    delivery_id: int
    alert_id: int
    severity: Severity
    created_at: datetime
    held: str | None = None  # set when it was held (quiet hours, digest) and is now released
    targets: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Send:
    kind: str  # alert, summary, digest
    items: tuple[Due, ...]

    @property
    def targets(self) -> frozenset[str]:
        return self.items[0].targets if self.items else frozenset()


@dataclass(frozen=True, slots=True)
class Hold:
    items: tuple[Due, ...]
    until: datetime
    reason: str  # quiet, digest


@dataclass(frozen=True, slots=True)
class Plan:
    sends: tuple[Send, ...] = ()
    holds: tuple[Hold, ...] = ()
    deferred: tuple[Due, ...] = ()  # due, but the rate limit (or a 429) has no room now
    resume_at: datetime | None = None  # when deferred ones may go
    named: frozenset[int] = field(default=frozenset())  # alert ids in `sends`, for assertions and logs


def plan(due: Sequence[Due], policy: ChannelPolicy, *, now: datetime, recent: Sequence[datetime] = (),
         paused_until: datetime | None = None, digest_at: datetime | None = None) -> Plan:
    """Decide what to send now. `recent`: when earlier messages to this channel were sent;
    `paused_until`: the channel asked us to wait (HTTP 429 Retry-After); `digest_at`: next digest time."""
    if paused_until is not None and paused_until > now:
        return Plan(deferred=tuple(due), resume_at=paused_until)
    released: list[Due] = []
    immediate: list[Due] = []
    holds: dict[tuple[str, datetime], list[Due]] = {}
    quiet_end = quiet_until(now, policy.quiet_hours) if policy.quiet_hours else None
    for item in sorted(due, key=_urgency):
        if item.held:
            released.append(item)
        elif policy.digest and digest_at is not None and not _bypasses(item, policy.digest_bypass):
            holds.setdefault((SCHEDULED, digest_at), []).append(item)
        elif quiet_end is not None and policy.quiet_hours and not _bypasses(item, policy.quiet_hours.bypass):
            holds.setdefault((QUIET, quiet_end), []).append(item)
        else:
            immediate.append(item)
    sends = [Send(DIGEST, chunk) for chunk in _grouped(released, policy.summary_size)]
    budget, resume_at = _budget(policy.rate_limit, recent, now)
    if len(immediate) <= budget - len(sends):
        sends += [Send(ALERT, (item,)) for item in immediate]
    else:
        sends += [Send(SUMMARY, chunk) for chunk in _grouped(immediate, policy.summary_size)]
    now_sends, later = sends[:budget], sends[budget:]
    deferred = tuple(item for send in later for item in send.items)
    return Plan(
        sends=tuple(now_sends),
        holds=tuple(Hold(tuple(items), until, reason) for (reason, until), items in holds.items()),
        deferred=deferred,
        resume_at=resume_at if deferred else None,
        named=frozenset(item.alert_id for send in now_sends for item in send.items),
    )


def quiet_until(now: datetime, quiet: QuietHours | None) -> datetime | None:
    """The end of the quiet period `now` falls in (UTC), or None when it is not quiet. Overnight
    periods (22:00-07:00) wrap midnight; local wall-clock times follow the zone's DST rules."""
    if quiet is None or quiet.start == quiet.end:
        return None
    local = now.astimezone(quiet.tz)
    clock = local.time().replace(tzinfo=None)
    overnight = quiet.end < quiet.start
    active = (clock >= quiet.start or clock < quiet.end) if overnight else (quiet.start <= clock < quiet.end)
    if not active:
        return None
    day = local.date() if clock < quiet.end else local.date() + timedelta(days=1)
    return datetime.combine(day, quiet.end, tzinfo=quiet.tz).astimezone(UTC)


def _budget(limit: RateLimit | None, recent: Sequence[datetime], now: datetime) -> tuple[int, datetime | None]:
    """Messages that may go now, and when the next slot frees up if none or few are left."""
    if limit is None:
        return 1 << 30, None
    window = sorted(t for t in recent if now - t < timedelta(seconds=limit.per))
    budget = max(0, limit.messages - len(window))
    # The slot after the budget is used up frees when the oldest message that fills it leaves the window.
    index = len(window) - limit.messages + budget
    resume = window[index] + timedelta(seconds=limit.per) if 0 <= index < len(window) else None
    return budget, resume or now + timedelta(seconds=limit.per)


def _urgency(item: Due) -> tuple[int, datetime, int]:
    return (-int(item.severity), item.created_at, item.delivery_id)


def _bypasses(item: Due, bypass: Severity | None) -> bool:
    return bypass is not None and item.severity >= bypass


def _grouped(items: Iterable[Due], size: int) -> list[tuple[Due, ...]]:
    """Chunks of at most `size`, never mixing deliveries that still owe different channel URLs."""
    groups: dict[frozenset[str], list[Due]] = {}
    for item in items:
        groups.setdefault(item.targets, []).append(item)
    size = max(1, size)
    return [tuple(group[i:i + size]) for group in groups.values() for i in range(0, len(group), size)]


# --- re-alert window (per watchlist and story or item) ---


@dataclass(frozen=True, slots=True)
class Prior:
    severity: Severity
    created_at: datetime


def should_alert(priors: Sequence[Prior], severity: Severity, *, now: datetime, window: float) -> bool:
    """A story alerts again within the window only when its severity rises above what already alerted."""
    recent = [p.severity for p in priors if now - p.created_at < timedelta(seconds=window)]
    return not recent or severity > max(recent)


def fallback_active(failing_since: datetime | None, *, now: datetime, after: float) -> bool:
    """A channel that has failed without a success for `after` seconds hands its alerts to its fallback."""
    return failing_since is not None and now - failing_since >= timedelta(seconds=after)
