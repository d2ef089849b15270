"""channels.yaml translated for the pure delivery policy (alerts.policy) and for the scheduler's digest jobs."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from alerts.policy import ChannelPolicy, QuietHours, RateLimit
from monitor.config import ChannelConfig, Config
from monitor.domain import Severity

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger


def _severity(label: str) -> Severity | None:
    return None if label == "none" else Severity.parse(label)


def channel_policy(channel: ChannelConfig) -> ChannelPolicy:
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
    from apscheduler.triggers.cron import CronTrigger  # here: the package's import costs 70 ms, and only digests use it

    return {name: CronTrigger.from_crontab(ch.digest.cron, timezone=ch.digest.timezone)
            for name, ch in config.channels.items() if ch.digest is not None}


def next_digest(channel: ChannelConfig, now: datetime) -> datetime | None:
    if channel.digest is None:
        return None
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(channel.digest.cron, timezone=channel.digest.timezone)
    fire: datetime | None = trigger.get_next_fire_time(None, now)
    return fire
