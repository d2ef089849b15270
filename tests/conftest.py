from __future__ import annotations

import multiprocessing
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


# Worker processes a test leaves behind (a process pool it did not close). At exit, CPython 3.11's
# ProcessPoolExecutor joins each pool's workers, and a worker that never got its stop sentinel holds the exit
# forever: one CI run sat after "884 passed" until the worker was killed. Each test that leaves workers running is
# named at the end, and the workers are stopped, so a leak is reported instead of hanging the suite.
_LEFT_WORKERS: dict[str, list[int]] = {}


@pytest.fixture(autouse=True)
def _workers_left_behind(request: pytest.FixtureRequest) -> Iterator[None]:
    before = {p.pid for p in multiprocessing.active_children()}
    yield
    left = [p.pid for p in multiprocessing.active_children() if p.pid not in before and p.is_alive()]
    if left:
        _LEFT_WORKERS[request.node.nodeid] = left


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    for process in multiprocessing.active_children():
        process.kill()
        process.join(5)
    if _LEFT_WORKERS:
        lines = "\n".join(f"  {test}: {pids}" for test, pids in _LEFT_WORKERS.items())
        sys.stderr.write(f"\nworker processes left running by tests (stopped at the end):\n{lines}\n")
