"""apprise wrapper: one call per channel URL, outcome and reason returned, secrets redacted."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import apprise
import structlog

from alerts.redact import redact
from alerts.render import Rendered

log = structlog.get_logger("alerts")

@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None


class Sender:
    """Sends rendered alerts to named channels; a failing channel never raises."""

    def __init__(self, channels: Mapping[str, Sequence[str]], *, timeout: float = 30.0) -> None:
        self.channels = {name: tuple(urls) for name, urls in channels.items()}
        self.timeout = timeout

    async def send(self, channel: str, rendered: Rendered) -> SendResult:
        urls = self.channels.get(channel)
        if urls is None:
            return SendResult(False, f"channel {channel!r} is not configured")
        errors = []
        for url in urls:
            try:
                error = await asyncio.wait_for(asyncio.to_thread(self._send_url, url, rendered), self.timeout)
            except TimeoutError:
                error = f"timed out after {self.timeout:.0f}s"
            if error:
                errors.append(f"{redact(url)}: {error}")
        return SendResult(not errors, "; ".join(errors) or None)

    def _send_url(self, url: str, rendered: Rendered) -> str | None:
        if url.startswith("console://"):
            log.info("alert_console", subject=rendered.subject, text=rendered.text)
            return None
        notifier = apprise.Apprise()
        if not notifier.add(url):
            return "not a valid apprise URL"
        messages: list[str] = []
        is_email = url.split("://", 1)[0].lower() in ("mailto", "mailtos")
        result = notifier.notify(
            body=rendered.html if is_email else rendered.text,
            title=rendered.subject,
            body_format=apprise.NotifyFormat.HTML if is_email else apprise.NotifyFormat.TEXT,
            log_callback=lambda entry, _plugin: messages.append(str(getattr(entry, "message", entry))),
            log_level=30,
        )
        if result:
            return None
        return redact(" | ".join(messages[-3:]) or "notification failed")


def url_problems(channels: Mapping[str, Sequence[str]]) -> list[str]:
    """URLs apprise cannot use, named by channel and position; secrets redacted."""
    problems = []
    for name, urls in channels.items():
        for i, url in enumerate(urls):
            if url.startswith("console://"):
                continue
            if not apprise.Apprise().add(url):
                problems.append(f"channels.{name}.urls[{i}]: apprise does not recognise {redact(url)!r}")
    return problems
