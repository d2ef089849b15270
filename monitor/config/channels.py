"""channels.yaml: named delivery channels (apprise URLs), rate limits, quiet hours, digests and fallbacks."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from monitor.config.settings import Duration, Strict
from monitor.config.yamlfile import YamlDoc
from monitor.errors import ConfigProblem


def _clock(value: Any) -> time:
    if isinstance(value, int) and not isinstance(value, bool):  # YAML 1.1 reads 22:00 as 1320 (sexagesimal)
        value = f"{value // 60:02d}:{value % 60:02d}"
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", str(value).strip())
    if not match:
        raise ValueError(f"invalid time {value!r}: expected HH:MM, like 22:00")
    return time(int(match.group(1)), int(match.group(2)))


def _zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name like Europe/Berlin)") from None
    return value


# Where channels.yaml may name environment variables (`${VAR}`): the apprise URLs, which carry tokens and passwords
# (the sender masks them in logs and errors). A "*" is any channel name or any URL of the list.
ENV_FIELDS: tuple[tuple[str, ...], ...] = (("channels", "*", "urls", "*"),)

Clock = Annotated[time, BeforeValidator(_clock)]
Zone = Annotated[str, AfterValidator(_zone)]
Bypass = Literal["watch", "warning", "critical", "none"]


class RateLimitModel(Strict):
    messages: int = Field(gt=0)
    per: Duration = Field(gt=0)


class QuietHoursModel(Strict):
    start: Clock
    end: Clock
    timezone: Zone = "UTC"
    bypass: Bypass = "critical"  # this severity and above is sent during quiet hours anyway

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHoursModel:
        if self.start == self.end:
            raise ValueError("start and end are the same time")
        return self


class DigestModel(Strict):
    cron: str  # crontab, five fields: minute hour day month weekday ("0 8 * * *" = daily at 08:00)
    timezone: Zone = "UTC"
    bypass: Bypass = "none"

    @model_validator(mode="after")
    def _cron(self) -> DigestModel:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(self.cron, timezone=self.timezone)
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {self.cron!r}: {exc}") from None
        return self


class FallbackModel(Strict):
    channel: str
    after: Duration = Field(default=900.0, ge=0)  # failing this long, with no success, hands alerts over


class ChannelConfig(Strict):
    urls: tuple[str, ...] = Field(min_length=1)
    rate_limit: RateLimitModel | None = RateLimitModel(messages=10, per=60.0)
    summary_size: int = Field(default=25, ge=1, le=1000)
    quiet_hours: QuietHoursModel | None = None
    digest: DigestModel | None = None
    fallback: FallbackModel | None = None

    @field_validator("urls")
    @classmethod
    def _has_scheme(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        for url in urls:
            if "://" not in url:
                raise ValueError("not an apprise URL (expected scheme://...)")
        return urls


def fallback_problems(channels: Mapping[str, ChannelConfig], doc: YamlDoc) -> list[ConfigProblem]:
    """A fallback names another configured channel, and following fallbacks never loops."""
    problems = []
    for name, channel in channels.items():
        if channel.fallback is None:
            continue
        loc = ("channels", name, "fallback", "channel")
        target = channel.fallback.channel
        if target not in channels or target == name:
            known = ", ".join(sorted(set(channels) - {name})) or "none"
            problems.append(doc.problem(loc, f"fallback must be another configured channel, not {target!r} "
                                             f"(known: {known})"))
            continue
        seen, current = {name}, target
        while current not in seen:
            seen.add(current)
            nxt = channels[current].fallback
            if nxt is None or nxt.channel not in channels:
                break
            current = nxt.channel
        else:
            problems.append(doc.problem(loc, f"fallbacks loop back to {current!r}"))
    return problems


class ChannelsFile(Strict):
    channels: dict[str, ChannelConfig] = Field(default_factory=dict)


