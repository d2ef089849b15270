from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.db import drop_database, new_database
from tests.support.servers import HttpServer, SmtpServer, WebhookReceiver

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: SQLite file, or a PostgreSQL schema when MONITOR_TEST_DB=postgresql."""
    url = new_database(tmp_path)
    yield url
    drop_database(url)


@pytest.fixture
def feed_server() -> Iterator[HttpServer]:
    server = HttpServer().start()
    yield server
    server.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver().start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def corpus() -> Path:
    """The shared real-world corpus: skipped when absent, a failure when CI is set."""
    if not CORPUS.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but the corpus is missing at {CORPUS}")
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


# A subprocess runs the real CLI; only Slack's public host is redirected (class attribute), so the
# HTTP request is really sent, to a loopback receiver.
_LAUNCH = """
import os, sys
base = os.environ.get("TEST_SLACK_BASE")
if base:
    from apprise.plugins.slack import NotifySlack
    NotifySlack.webhook_url = base
from monitor.cli import main
main(sys.argv[1:])
"""


def _environment(env: dict[str, str] | None, slack_base: str | None) -> dict[str, str]:
    inherited = {k: v for k, v in os.environ.items() if k not in ("MONITOR_DATABASE_URL", "MONITOR_CONFIG")}
    environment = {**inherited, **(env or {})}
    if slack_base:
        environment["TEST_SLACK_BASE"] = slack_base
    return environment


def start_monitor(*args: str, slack_base: str | None = None, env: dict[str, str] | None = None,
                  cwd: Path | None = None) -> subprocess.Popen[str]:
    """The real CLI as a background process (the daemon); stdout carries its JSON log lines."""
    return subprocess.Popen([sys.executable, "-c", _LAUNCH, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=_environment(env, slack_base),
                            cwd=cwd or ROOT)


def run_monitor(*args: str, slack_base: str | None = None, env: dict[str, str] | None = None,
                timeout: float = 120, cwd: Path | None = None,
                input_text: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _LAUNCH, *args], capture_output=True, text=True, input=input_text,
                          timeout=timeout, env=_environment(env, slack_base), cwd=cwd or ROOT)
