"""`monitor channels test NAME`: send a test message through every URL of a channel and say how it went."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from alerts.render import Renderer
from alerts.sender import Sender
from monitor.config import Config
from monitor.domain import AlertMessage, Severity


def test_message(now: datetime) -> AlertMessage:
    return AlertMessage(alert_id=0, watchlist="test", severity=Severity.WATCH, score=0.0,
                        title="Test message from escalation-monitor: this channel works",
                        link="https://github.com/caronc/apprise", feed="monitor channels test", published=now)


def test_channel(config: Config, name: str) -> tuple[bool, list[str]]:
    """(all URLs accepted, one line per URL). Nothing is written to the database."""
    channel = config.channels[name]
    sender = Sender({name: channel.urls}, timeout=config.settings.delivery.timeout)
    rendered = Renderer(config.directory / "templates").alert(test_message(datetime.now(UTC)))
    lines = []
    ok = True
    for target in sender.targets(name):
        result = asyncio.run(sender.send_to(target, rendered, severity=Severity.WATCH,
                                            headers={"X-Monitor-Test": "1"}))
        ok &= result.ok
        status = f" (HTTP {result.status})" if result.status else ""
        lines.append(f"{'ok' if result.ok else 'FAILED'}  {target.display}{status}"
                     + ("" if result.ok else f": {result.error}"))
    return ok, lines
