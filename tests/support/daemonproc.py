"""`monitor run` as a real subprocess whose JSON log lines a test can wait for, and a feed it can grow."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import escape

from tests.support.servers import Request, Response

ROOT = Path(__file__).resolve().parents[2]
Event = dict[str, Any]


@dataclass
class GrowingFeed:
    """An RSS document a test appends items to; serve it with `server.routes[path] = feed`."""

    title: str = "Test Desk"
    items: list[tuple[str, str]] = field(default_factory=list)  # (guid, title)
    delay: float = 0.0  # seconds before answering: a slow publisher

    def add(self, title: str) -> str:
        guid = f"item-{len(self.items) + 1}"
        self.items.append((guid, title))
        return guid

    def __call__(self, _request: Request) -> Response:
        now = format_datetime(datetime.now(UTC))
        entries = "".join(
            f"<item><guid isPermaLink='false'>{guid}</guid><title>{escape(title)}</title>"
            # The link names the feed too: two feeds linking the same URL are one article (cross-feed dedup).
            f"<link>http://news.invalid/{quote(self.title)}/{guid}</link><description>{escape(title)}</description>"
            f"<pubDate>{now}</pubDate></item>"
            for guid, title in self.items)
        body = (f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(self.title)}"
                f"</title><link>http://news.invalid/</link>{entries}</channel></rss>").encode()
        return Response(200, body, {"Content-Type": "application/rss+xml; charset=utf-8"}, delay=self.delay)


class Daemon:
    """Starts `monitor run --config DIR`; a reader thread parses every stdout line (JSON) into `events`."""

    def __init__(self, config: Path, *, env: dict[str, str] | None = None) -> None:
        environment = {k: v for k, v in os.environ.items() if k != "MONITOR_DATABASE_URL"}
        environment.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config)], cwd=ROOT, env=environment,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.events: list[Event] = []
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line)
                with contextlib.suppress(ValueError):
                    self.events.append(json.loads(line))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def named(self, name: str, **fields: Any) -> list[Event]:
        with self._changed:
            return [e for e in self.events if e.get("event") == name
                    and all(e.get(k) == v for k, v in fields.items())]

    def wait_for(self, name: str, *, timeout: float = 30.0, after: int = 0,
                 where: Callable[[Event], bool] = lambda _e: True) -> Event:
        """The first event `name` (from index `after` on) that satisfies `where`; fails with the log tail."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.events[after:]:
                    if event.get("event") == name and where(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    tail = "".join(self.lines[-30:])
                    raise AssertionError(f"no {name!r} within {timeout}s (exit={self.proc.poll()}); log tail:\n{tail}")
                self._changed.wait(min(left, 0.2))

    def mark(self) -> int:
        """Index to pass as `after=`, so only events from now on count."""
        with self._changed:
            return len(self.events)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        self._reader.join(5)
        return code

    def stderr(self) -> str:
        assert self.proc.stderr is not None
        return self.proc.stderr.read() if self.proc.poll() is not None else ""


def http_get(url: str, timeout: float = 10.0) -> tuple[int, str, Message]:
    """Status, body and headers (looked up in any case, as HTTP names them)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, resp.read().decode(), resp.headers
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), exc.headers


def wait_until(check: Callable[[], bool], *, timeout: float = 30.0, message: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(0.1)


def daemon_settings(*, port: int | None = None, **overrides: Any) -> dict[str, Any]:
    """monitor.yaml for a daemon under test: fast ticks, short backoff, HTTP only when a port is given."""
    settings: dict[str, Any] = {
        "polling": {"tick": "0.5s", "min_interval": "0.5s", "interval": "1s", "timeout": "5s"},
        "delivery": {"interval": "0.5s", "backoff": "1s", "max_attempts": 3, "timeout": "10s"},
        "http": {"enabled": port is not None, "listen": f"127.0.0.1:{port or 8787}"},
        "shutdown_grace": "10s",
    }
    settings.update(overrides)
    return settings


def watchlist(*terms: str, name: str = "test-list", channels: tuple[str, ...] = ("console",)) -> dict[str, Any]:
    """A watchlist that reaches `warning` on any one of `terms` in a title (weight 3, x1.5 in titles)."""
    return {"name": name, "keywords": [{"term": t, "weight": 3} for t in terms],
            "severities": {"watch": 2, "warning": 4},
            "notify": [{"channels": list(channels), "min_severity": "warning"}]}
