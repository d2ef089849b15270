"""apprise wrapper: one call per channel URL, outcome returned (never raised), secrets redacted.

Each URL of a channel is a `Target` with a stable key, so the outbox can record which URLs confirmed
a delivery and a retry goes only to the ones that did not. The payload variant follows the service:
Slack gets Block Kit with our mrkdwn (passed through apprise unchanged), HTML services (email) get
the HTML body and the subject, everything else the plain text.

A send is never abandoned while apprise may still complete it: apprise's own socket timeouts are set
from ours, and we wait for its thread. Abandoning it (the old `wait_for`) is how an SMTP server that
accepted a message but answered QUIT slowly got the message twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from alerts import http_status
from alerts.redact import redact, register_url
from alerts.render import Rendered
from monitor.domain import Severity, parse_retry_after

if TYPE_CHECKING:
    import apprise

# apprise (with requests and its plugins, a fifth of a second) is imported by the first URL that needs it, not with
# this module: a configuration whose channels are all console:// never loads it (issue 16, row 4).

log = structlog.get_logger("alerts")

CONSOLE, SLACK, HTML, TEXT = "console", "slack", "html", "text"


def _notify_type(severity: Severity) -> apprise.NotifyType:
    import apprise

    return {Severity.CRITICAL: apprise.NotifyType.FAILURE,
            Severity.WARNING: apprise.NotifyType.WARNING}.get(severity, apprise.NotifyType.INFO)


@dataclass(frozen=True)
class Target:
    channel: str
    key: str  # stable across restarts and reordering: a digest of the URL (never the URL itself)
    url: str
    display: str  # the URL as apprise shows it with privacy on
    kind: str  # console, slack, html, text


@dataclass(frozen=True)
class UrlResult:
    key: str
    ok: bool
    error: str | None = None
    status: int | None = None  # the last HTTP status apprise received, if it spoke HTTP
    retry_after: float | None = None  # seconds the service asked us to wait (429/503)
    unknown: bool = False  # apprise did not finish within the guard: the outcome is not known


@dataclass(frozen=True)
class SendResult:
    ok: bool
    error: str | None = None
    results: tuple[UrlResult, ...] = ()


def url_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def _target(channel: str, url: str) -> Target:
    if url.startswith("console://"):
        return Target(channel, url_key(url), url, "console://", CONSOLE)
    import apprise
    from apprise.plugins.slack import NotifySlack

    plugin = apprise.Apprise.instantiate(url)
    if not plugin:
        return Target(channel, url_key(url), url, redact(url), TEXT)
    private = str(plugin.url(privacy=True))  # type: ignore[no-untyped-call]
    register_url(url, private)
    display = private.split("?", 1)[0]  # apprise's query lists every default; the address is what people read
    if isinstance(plugin, NotifySlack):
        kind = SLACK
    else:
        kind = HTML if plugin.resolve_format(None) == apprise.NotifyFormat.HTML else TEXT
    return Target(channel, url_key(url), url, display, kind)


class Sender:
    """Sends rendered alerts to named channels; a failing URL never raises."""

    def __init__(self, channels: Mapping[str, Sequence[str]], *, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.guard = timeout * 4 + 5  # apprise's socket timeouts end a send long before this
        # Read now, not at the first send: reading a URL registers its private parts for redaction, so a token in
        # any later log line is masked.
        self.channels = {name: tuple(_target(name, url) for url in urls) for name, urls in channels.items()}
        self.on_send: Callable[[str, bool], None] | None = None  # (channel, ok) after each URL: metrics

    def targets(self, channel: str) -> tuple[Target, ...]:
        return self.channels.get(channel, ())

    async def send(self, channel: str, rendered: Rendered, severity: Severity = Severity.WARNING) -> SendResult:
        """Every URL of the channel (used by `monitor channels test`)."""
        targets = self.targets(channel)
        if not targets:
            return SendResult(False, f"channel {channel!r} is not configured")
        results = [await self.send_to(t, rendered, severity=severity) for t in targets]
        errors = [f"{t.display}: {r.error}" for t, r in zip(targets, results, strict=True) if not r.ok]
        return SendResult(not errors, "; ".join(errors) or None, tuple(results))

    async def send_to(self, target: Target, rendered: Rendered, *, severity: Severity = Severity.WARNING,
                      headers: Mapping[str, str] | None = None) -> UrlResult:
        job = asyncio.ensure_future(asyncio.to_thread(self._send_sync, target, rendered, severity, dict(headers or {})))
        try:
            result = await asyncio.wait_for(asyncio.shield(job), self.guard)
        except TimeoutError:
            log.error("channel_send_stuck", channel=target.channel, url=target.display, waited=self.guard)
            result = UrlResult(target.key, False, f"no outcome after {self.guard:.0f}s", unknown=True)
        if self.on_send is not None:
            self.on_send(target.channel, result.ok)
        return result

    def _send_sync(self, target: Target, rendered: Rendered, severity: Severity, headers: dict[str, str]) -> UrlResult:
        if target.kind == CONSOLE:
            log.info("alert_console", channel=target.channel, subject=rendered.subject, text=rendered.text)
            return UrlResult(target.key, True)
        import apprise

        http_status.install()
        plugin = apprise.Apprise.instantiate(target.url)
        if not plugin:
            return UrlResult(target.key, False, "not a valid apprise URL")
        self._configure(plugin, target, headers)
        notifier = apprise.Apprise()
        notifier.add(plugin)
        body, title, body_format = _payload(target.kind, rendered)
        messages: list[str] = []
        with http_status.collect() as seen:
            result = notifier.notify(
                body=body, title=title, body_format=body_format,
                notify_type=_notify_type(severity),
                log_callback=lambda entry, _plugin: messages.append(str(getattr(entry, "message", entry))),
                log_level=logging.WARNING,
            )
        status = seen[-1].status if seen else None
        retry_after = parse_retry_after(seen[-1].retry_after, datetime.now(UTC)) if seen else None
        if result:
            return UrlResult(target.key, True, status=status)
        error = redact(" | ".join(messages[-3:]) or "notification failed")
        return UrlResult(target.key, False, error, status=status, retry_after=retry_after)

    def _configure(self, plugin: apprise.NotifyBase, target: Target, headers: dict[str, str]) -> None:
        """Our timeout bounds every socket operation unless the URL sets its own (cto=, rto=)."""
        if "cto=" not in target.url:
            plugin.socket_connect_timeout = self.timeout
        if "rto=" not in target.url:
            plugin.socket_read_timeout = self.timeout
        if target.kind == SLACK:
            # Block Kit: the legacy attachment format re-activates escaped mentions in passed-through text.
            setattr(plugin, "use_blocks", True)  # noqa: B010 (not an attribute of NotifyBase's type)
        existing = getattr(plugin, "headers", None)
        if isinstance(existing, dict) and headers:
            existing.update(headers)


def _payload(kind: str, rendered: Rendered) -> tuple[str, str, str | None]:
    """(body, title, declared body format). Slack's body is declared as nothing, which tells apprise
    to pass our mrkdwn through untouched instead of converting it as CommonMark."""
    import apprise

    if kind == SLACK:
        return rendered.slack or rendered.text, rendered.slack_title or rendered.subject, None
    if kind == HTML:
        return rendered.html, rendered.subject, apprise.NotifyFormat.HTML
    return rendered.text, rendered.subject, apprise.NotifyFormat.TEXT


def url_problems(channels: Mapping[str, Sequence[str]]) -> list[str]:
    """URLs apprise cannot use, named by channel and position; secrets redacted."""
    import apprise

    problems = []
    for name, urls in channels.items():
        for i, url in enumerate(urls):
            if url.startswith("console://"):
                continue
            if not apprise.Apprise().add(url):
                problems.append(f"channels.{name}.urls[{i}]: apprise does not recognise {redact(url)!r}")
    return problems
